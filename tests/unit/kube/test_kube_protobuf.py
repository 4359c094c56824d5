"""Protobuf Secret/ConfigMap bodies (helm's release storage) decoded by hand: built here with the field numbers
of k8s.io/api's generated.proto, as client-go marshals them."""
import base64

import pytest

from lab.kube.api import protobuf
from lab.kube.api.errors import ApiError


def _varint(value):
    out = b""
    while True:
        byte = value & 0x7F
        value >>= 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def _field(number, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _entry(number, key, value):
    return _field(number, _field(1, key) + _field(2, value))


def _envelope(kind, raw):
    return protobuf.MAGIC + _field(1, _field(1, "v1") + _field(2, kind)) + _field(2, raw)


def test_secret_with_labels_and_binary_data():
    release = bytes(range(256)) * 40         # longer than one varint byte can say
    meta = _field(1, "sh.helm.release.v1.r1.v1") + _field(3, "apps") + _entry(11, "owner", "helm") + \
        _entry(11, "status", "deployed")
    raw = _field(1, meta) + _entry(2, "release", release) + _field(3, "helm.sh/release.v1")
    secret = protobuf.decode(_envelope("Secret", raw))
    assert secret["kind"] == "Secret" and secret["apiVersion"] == "v1"
    assert secret["metadata"] == {"name": "sh.helm.release.v1.r1.v1", "namespace": "apps",
                                  "labels": {"owner": "helm", "status": "deployed"}}
    assert base64.b64decode(secret["data"]["release"]) == release
    assert secret["type"] == "helm.sh/release.v1"


def test_config_map_and_refusals():
    raw = _field(1, _field(1, "cm")) + _entry(2, "k", "v") + _entry(3, "bin", b"\x00\x01")
    cm = protobuf.decode(_envelope("ConfigMap", raw))
    assert cm["data"] == {"k": "v"} and cm["binaryData"] == {"bin": "AAE="}
    with pytest.raises(ApiError) as err:
        protobuf.decode(_envelope("Deployment", b""))
    assert err.value.code == 415 and "send JSON" in err.value.message
    with pytest.raises(ApiError) as err:
        protobuf.decode(b"{}")
    assert err.value.code == 400
    with pytest.raises(ApiError):
        protobuf.decode(protobuf.MAGIC + b"\x0a\xff")      # length runs past the body
