"""Numbers in the plugin's configuration: finite, and within the range each key is meant for.

NaN passed every comparison (NaN < 0 is false) and 1e9 workers or batch items were accepted: every
section now declares {key: (lowest, highest)} and is checked with within_ranges() after typing.
"""

import math

from .errors import ConfigError

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def finite(path, value):
    """value, when it is a finite number (an int, or a float that is not NaN or infinite)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(path, "expected a finite number, got %r" % (value,))
    return value


def within_ranges(values, ranges, prefix):
    """Raise ConfigError naming the first key of `values` outside its (lowest, highest) range."""
    for key, (lowest, highest) in ranges.items():
        value = values.get(key)
        if value is not None and not lowest <= value <= highest:
            raise ConfigError("%s.%s" % (prefix, key), "must be between %g and %g, got %r" % (lowest, highest, value))
