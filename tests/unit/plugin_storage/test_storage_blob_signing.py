"""Blob requests: Shared Key signatures equal to the Azure SDK's own policy; the headers every request carries."""
import base64
import types

import pytest
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

from medimaging_plugin.config.oauth import SecretSource
from medimaging_plugin.storage.blob import BlobStore, SharedKeyCredential, parse_connection_string
from medimaging_plugin.storage.object_store import md5_base64

KEY = base64.b64encode(b"k" * 64).decode()


def sdk_authorization(method, url, headers, account="acct"):
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&")) if "?" in url else {}
    http_request = types.SimpleNamespace(method=method, url=url, headers=dict(headers), query=query)
    request = types.SimpleNamespace(http_request=http_request, context=types.SimpleNamespace(transport=None))
    SharedKeyCredentialPolicy(account, KEY).on_request(request)
    return http_request.headers["Authorization"]


@pytest.fixture
def connection_string(tmp_path):
    path = tmp_path / "cs"
    path.write_text("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=%s;EndpointSuffix=core.windows.net\n"
                    % KEY)
    return SecretSource("file", str(path))


@pytest.mark.parametrize("method,name,data", [("PUT", "root/8d6f4a3c-1b2e-4f5a-9c8d-7e6f5a4b3c2d.dcm", b"DICM" * 9),
                                              ("GET", "root/8d/6f/8d6f4a3c-1b2e-4f5a-9c8d-7e6f5a4b3c2d", None),
                                              ("DELETE", "a b/c.dcm.head", None), ("HEAD", "x.unk", None)])
def test_shared_key_matches_the_sdk(connection_string, method, name, data):
    sent = []

    class Http:
        def request(self, method, url, headers=None, data=None):
            sent.append((method, url, dict(headers)))
            return types.SimpleNamespace(status_code=201 if method == "PUT" else 200, headers={}, content=b"")

    store = BlobStore("https://acct.blob.core.windows.net/orthanc", SharedKeyCredential(connection_string, {}),
                      "2025-11-05", http=Http())
    {"PUT": lambda: store.put(name, data), "GET": lambda: store.get(name), "DELETE": lambda: store.delete(name),
     "HEAD": lambda: store.head(name)}[method]()
    (_m, url, headers), = sent
    ours = headers.pop("Authorization")
    assert ours.startswith("SharedKey acct:") and ours == sdk_authorization(method, url, headers)
    assert headers["x-ms-version"] == "2025-11-05" and "x-ms-date" in headers
    if method == "PUT":
        assert headers["x-ms-blob-type"] == "BlockBlob" and headers["Content-MD5"] == md5_base64(data)
        assert headers["Content-Length"] == str(len(data))


def test_connection_string_parsing_keeps_base64_padding():
    values = parse_connection_string("AccountName=a;AccountKey=%s;SharedAccessSignature=sv=1&sig=ab%%3D" % KEY)
    assert values["AccountKey"] == KEY and values["SharedAccessSignature"] == "sv=1&sig=ab%3D"
    with pytest.raises(ValueError):
        parse_connection_string("AccountName")
