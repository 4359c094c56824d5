"""Bodies of the plugin's REST requests: bounded before they are parsed, typed after.

json.loads recurses once per nesting level on the calling thread. Inside Orthanc that is a web-server
thread with a small stack: a 2 KB body nested 900 levels deep overflowed it and Orthanc died (SIGSEGV).
So every endpoint goes through guard(), which refuses a body that is too large or nests too deep after
one linear scan that never recurses, and the handlers read their fields with read_object(), which names
the field whose JSON type is wrong. A refusal is a BadRequest; guard() turns it into a 4xx answer.
"""

import json

from .http_answers import json_answer

MAX_BYTES = 16 * 1024  # every body the plugin accepts is a small JSON object
MAX_DEPTH = 8
_OPENERS, _CLOSERS = frozenset(b"[{"), frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_JSON_TYPES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list", dict: "a JSON object"}


class BadRequest(ValueError):
    """A request the client must change: status 400 (or 413 for size), message names the input."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def nesting_depth(data, limit=MAX_DEPTH):
    """Deepest bracket nesting of JSON text, brackets inside strings ignored; stops counting past `limit`."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif byte in _CLOSERS:
            depth -= 1
    return deepest


def check_bounds(body, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH):
    """Raise BadRequest for a body Orthanc must not parse; cheap, never recursive."""
    if not body:
        return
    data = body.encode("utf-8") if isinstance(body, str) else body
    if len(data) > max_bytes:
        raise BadRequest("request body: %d bytes, at most %d accepted" % (len(data), max_bytes), 413)
    if nesting_depth(data, max_depth) > max_depth:
        raise BadRequest("request body: JSON nested deeper than %d levels" % max_depth)


def _type_name(value):
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def read_object(body, fields, example):
    """The body as a dict of known `fields` ({name: type}); an empty body is {}. BadRequest names the field."""
    check_bounds(body)
    if not body:
        return {}
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("request body: not valid JSON; expected %s" % example) from None
    if not isinstance(request, dict):
        raise BadRequest("request body: expected a JSON object like %s, got %s" % (example, _type_name(request)))
    for key, value in request.items():
        if key not in fields:
            raise BadRequest("%s: unknown field; expected %s" % (key[:64], " or ".join(sorted(fields))))
        kind = fields[key]
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)):
            raise BadRequest("%s: expected %s, got %s" % (key, _JSON_TYPES[kind], _type_name(value)))
    return request


def guard(handler):
    """Wrap a handler(method, groups, body): bound its body first, answer a BadRequest with its status."""

    def guarded(method, groups, body):
        try:
            check_bounds(body)
            return handler(method, groups, body)
        except BadRequest as exc:
            return json_answer(exc.status, {"error": str(exc)})

    return guarded
