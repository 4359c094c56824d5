"""Label and field selectors, as the API accepts them in ?labelSelector= and ?fieldSelector=."""
import re

from lab.kube.api.errors import ApiError

_SET = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|=|!=)\s*([\w./-]*))?\s*$")


def _split_top(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def parse_labels(selector):
    """[(key, op, values)] with op one of = != in notin exists !exists."""
    terms = []
    for part in _split_top(selector or ""):
        match = _SET.match(part)
        if not match:
            raise ApiError(400, f"unable to parse requirement: invalid label selector {selector!r}")
        negate, key, set_op, set_values, op, value = match.groups()
        if set_op:
            terms.append((key, set_op, {v.strip() for v in set_values.split(",") if v.strip()}))
        elif op:
            terms.append((key, "!=" if op == "!=" else "=", {value}))
        else:
            terms.append((key, "!exists" if negate else "exists", set()))
    return terms


def labels_match(terms, labels):
    labels = labels or {}
    for key, op, values in terms:
        present = key in labels
        if op == "exists" and not present or op == "!exists" and present:
            return False
        if op in ("=", "in") and labels.get(key) not in values:
            return False
        if op in ("!=", "notin") and present and labels[key] in values:
            return False
    return True


def parse_fields(selector):
    terms = []
    for part in _split_top(selector or ""):
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                terms.append((key.strip(), op != "!=", value.strip()))
                break
        else:
            raise ApiError(400, f"invalid field selector {selector!r}: expected key=value or key!=value")
    return terms


def field_value(obj, path):
    value = obj
    for step in path.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def fields_match(terms, obj):
    return all((field_value(obj, key) == value) == equal for key, equal, value in terms)


def selector_from_match(match):
    """A LabelSelector {matchLabels, matchExpressions} as parse_labels terms."""
    terms = [(k, "=", {v}) for k, v in (match or {}).get("matchLabels", {}).items()]
    for expr in (match or {}).get("matchExpressions", []) or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}[expr["operator"]]
        terms.append((expr["key"], op, set(expr.get("values") or [])))
    return terms
