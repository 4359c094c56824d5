"""Kubernetes' protobuf wire format for Secret and ConfigMap bodies (helm stores its releases that way).

The body is the magic "k8s\\x00" then a runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw}; raw is the
object's own message. Decoded by hand with a small varint reader (field numbers from k8s.io/api generated.proto);
answers go back in JSON, which client-go accepts.
"""
import base64

from lab.kube.api.errors import ApiError

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


def _varint(data, pos):
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data):
    """Yield (field number, wire type, value): ints for varints, bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _text(value):
    return value.decode("utf-8")


def _map_entry(value):
    key = val = b""
    for number, _, item in fields(value):
        if number == 1:
            key = item
        elif number == 2:
            val = item
    return _text(key), val


def _owner_reference(value):
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    ref = {}
    for number, _, item in fields(value):
        if number in names:
            ref[names[number]] = _text(item)
        elif number in (6, 7):
            ref["controller" if number == 6 else "blockOwnerDeletion"] = bool(item)
    return ref


def _object_meta(value):
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta = {}
    for number, _, item in fields(value):
        if number in strings:
            meta[strings[number]] = _text(item)
        elif number in (11, 12):
            key, val = _map_entry(item)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = _text(val)
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(item))
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(item))
    return meta


def _secret(raw):
    obj = {}
    for number, _, item in fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(item)
        elif number == 2:
            key, val = _map_entry(item)
            obj.setdefault("data", {})[key] = base64.b64encode(val).decode("ascii")
        elif number == 3:
            obj["type"] = _text(item)
        elif number == 4:
            key, val = _map_entry(item)
            obj.setdefault("stringData", {})[key] = _text(val)
        elif number == 5:
            obj["immutable"] = bool(item)
    return obj


def _config_map(raw):
    obj = {}
    for number, _, item in fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(item)
        elif number == 2:
            key, val = _map_entry(item)
            obj.setdefault("data", {})[key] = _text(val)
        elif number == 3:
            key, val = _map_entry(item)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(val).decode("ascii")
        elif number == 4:
            obj["immutable"] = bool(item)
    return obj


def _strings(raw, names):
    found = {}
    for number, _, item in fields(raw):
        if number in names:
            found[names[number]] = _text(item)
    return found


def _namespace(raw):
    return {"metadata": _object_meta(next((v for n, _, v in fields(raw) if n == 1), b""))}


def _access_review(raw):
    """SelfSubjectAccessReview {2 spec {1 resourceAttributes, 2 nonResourceAttributes}}."""
    spec = {}
    for number, _, item in fields(raw):
        if number == 2:
            for sub, _, attrs in fields(item):
                if sub == 1:
                    spec["resourceAttributes"] = _strings(attrs, {1: "namespace", 2: "verb", 3: "group",
                                                                  4: "version", 5: "resource", 6: "subresource",
                                                                  7: "name"})
                elif sub == 2:
                    spec["nonResourceAttributes"] = _strings(attrs, {1: "path", 2: "verb"})
    return {"metadata": {}, "spec": spec}


def _rules_review(raw):
    spec = next((_strings(v, {1: "namespace"}) for n, _, v in fields(raw) if n == 2), {})
    return {"metadata": {}, "spec": spec}


def _token_request(raw):
    """TokenRequest {2 spec {1 audiences, 4 expirationSeconds, 3 boundObjectRef {1 kind, 2 apiVersion, 3 name}}}."""
    spec = {}
    for number, _, item in fields(raw):
        if number != 2:
            continue
        for sub, _, value in fields(item):
            if sub == 1:
                spec.setdefault("audiences", []).append(_text(value))
            elif sub == 4:
                spec["expirationSeconds"] = value
            elif sub == 3:
                spec["boundObjectRef"] = _strings(value, {1: "kind", 2: "apiVersion", 3: "name", 4: "uid"})
    return {"metadata": {}, "spec": spec}


DECODERS = {"Secret": _secret, "ConfigMap": _config_map, "Namespace": _namespace,
            "SelfSubjectAccessReview": _access_review, "SelfSubjectRulesReview": _rules_review,
            "TokenRequest": _token_request}


def decode(body):
    """The JSON-shaped dict of a protobuf Secret or ConfigMap body; ApiError 415 for anything else."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "protobuf body without the k8s\\x00 envelope")
    try:
        api_version = kind = ""
        raw = b""
        for number, _, item in fields(body[len(MAGIC):]):
            if number == 1:
                for sub, _, text in fields(item):
                    if sub == 1:
                        api_version = _text(text)
                    elif sub == 2:
                        kind = _text(text)
            elif number == 2:
                raw = item
        if kind not in DECODERS:
            raise ApiError(415, f"the lab API decodes protobuf bodies of {', '.join(DECODERS)} only, not "
                           f"{kind or 'this'}: send JSON")
        obj = DECODERS[kind](raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"malformed protobuf body: {err}") from err
    obj["apiVersion"], obj["kind"] = api_version or "v1", kind
    return obj
