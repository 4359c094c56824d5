"""Kubernetes resource quantities (memory bytes, CPU cores) as the kubelet reads limits."""
import re

_SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 0.001}
_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$")


def _parse(value):
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 512Mi, 1Gi, 500m, 2)")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def parse_memory(value):
    """Bytes, rounded up."""
    return int(-(-_parse(value) // 1))


def parse_cpu(value):
    """Cores (float)."""
    return _parse(value)
