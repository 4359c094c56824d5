"""Helpers the rule modules share: read a field without trusting the body's shape, refuse in ARM's shape."""
import re

from lab.azure.web import HttpError


def dig(data, *keys):
    """data[k1][k2]... or None when a step is missing or not an object (wrong types are the models' job)."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def refuse(code, message, status=400):
    raise HttpError(status, code, message)


def matches(pattern, value):
    """A full match: `re.match(...$)` lets a trailing newline through, which Azure does not."""
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None
