"""The storage area's behaviour over faked HTTP answers: retries, refusals, hybrid reads, the credential chain."""
import base64
import datetime
import hashlib
import json
import os

import pytest

from medimaging_plugin.http_client import HttpError, Response
from medimaging_plugin.metrics_core import Registry
from medimaging_plugin.storage.area import StorageArea
from medimaging_plugin.storage.aws_credentials import CredentialChain, CredentialError
from medimaging_plugin.storage.blob import BlobStore
from medimaging_plugin.storage.errors import ObjectNotFound, StorageError
from medimaging_plugin.storage.metrics import StorageMetrics
from medimaging_plugin.storage.retry import RetryPolicy
from medimaging_plugin.storage.s3 import S3Store

UUID = "8d6f4a3c-1b2e-4f5a-9c8d-7e6f5a4b3c2d"


class Headers(dict):
    def get(self, key, default=None):
        for name, value in self.items():
            if name.lower() == key.lower():
                return value
        return default


class FakeHttp:
    """Answers in order; records (method, url, headers, data)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def request(self, method, url, headers=None, data=None, **_kwargs):
        self.sent.append((method, url, dict(headers or {}), data))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body, headers = (answer + ({},))[:3] if isinstance(answer, tuple) else (answer, b"", {})
        return Response(status, Headers(headers), body)


class StaticToken:
    kind = "bearer"

    def apply(self, headers):
        headers["Authorization"] = "Bearer TOKEN"
        return None, ["TOKEN"]


def blob_store(http, retries=2):
    sleeps = []
    store = BlobStore("https://acct.blob.core.windows.net/orthanc", StaticToken(), "2025-11-05", http=http,
                      retry=RetryPolicy(max_retries=retries, base=0.1, sleep=sleeps.append, rand=lambda: 1.0))
    return store, sleeps


def area_of(store, disk_root=None):
    registry = Registry()
    return StorageArea(store, StorageMetrics(registry), root="r", disk_root=disk_root), registry


def test_put_sends_md5_and_block_blob_headers_and_retries_5xx_with_backoff():
    http = FakeHttp((503, b"", {"x-ms-error-code": "ServerBusy"}), HttpError("timed out"), 201)
    store, sleeps = blob_store(http)
    area, registry = area_of(store)
    area.create(UUID, 1, b"DICM-bytes")
    method, url, headers, data = http.sent[-1]
    assert (method, url) == ("PUT", "https://acct.blob.core.windows.net/orthanc/r/%s.dcm" % UUID)
    assert headers["Content-MD5"] == base64.b64encode(hashlib.md5(b"DICM-bytes").digest()).decode()
    assert headers["x-ms-blob-type"] == "BlockBlob" and headers["x-ms-version"] == "2025-11-05"
    assert data == b"DICM-bytes" and sleeps == [0.1, 0.2]  # full jitter upper bounds: base, 2*base
    assert registry.get_sample_value("medimaging_storage_retries_total",
                                     {"backend": "azure_blob", "operation": "create"}) == 2


def test_a_failed_write_raises_after_the_retries_and_counts_an_error():
    store, _sleeps = blob_store(FakeHttp(500, 500, 500))
    area, registry = area_of(store)
    with pytest.raises(StorageError, match="failed after 3 attempts: HTTP 500"):
        area.create(UUID, 1, b"x")
    assert registry.get_sample_value("medimaging_storage_operations_total",
                                     {"backend": "azure_blob", "operation": "create", "result": "error"}) == 1


def test_403_is_not_retried_and_the_token_is_not_in_the_message():
    store, sleeps = blob_store(FakeHttp((403, b"", {"x-ms-error-code": "AuthorizationPermissionMismatch"})))
    with pytest.raises(StorageError) as caught:
        store.put("a.dcm", b"x")
    assert "HTTP 403 AuthorizationPermissionMismatch" in str(caught.value) and "TOKEN" not in str(caught.value)
    assert sleeps == []


def test_read_tries_legacy_then_disk_in_hybrid_mode(tmp_path):
    folder = tmp_path / UUID[:2] / UUID[2:4]
    folder.mkdir(parents=True)
    (folder / UUID).write_bytes(b"from-disk")
    store, _ = blob_store(FakeHttp(404, 404, 404, 404, (200, b"from-bucket")))
    area, registry = area_of(store, disk_root=str(tmp_path))
    assert area.read(UUID, 1) == b"from-disk"
    assert [url.rsplit("/orthanc/", 1)[1] for _m, url, _h, _d in store.http.sent] == [
        "r/%s.dcm" % UUID, "r/8d/6f/%s" % UUID]
    area.remove(UUID, 1)
    assert not (folder / UUID).exists()
    assert registry.get_sample_value("medimaging_storage_operations_total",
                                     {"backend": "azure_blob", "operation": "read", "result": "disk"}) == 1


def test_missing_everywhere_is_an_error():
    store, _ = blob_store(FakeHttp(404, 404))
    area, _registry = area_of(store)
    with pytest.raises(ObjectNotFound):
        area.read(UUID, 1)


def test_s3_put_carries_sse_kms_session_token_and_sigv4(tmp_path):
    http = FakeHttp(200)
    creds = CredentialChain(None, {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK",
                                   "AWS_SESSION_TOKEN": "SESSION"})
    store = S3Store("orthanc", "eu-west-1", creds, kms_key_id="alias/pacs", http=http,
                    clock=lambda: datetime.datetime(2026, 12, 3, tzinfo=datetime.timezone.utc))
    store.put("r/%s.dcm" % UUID, b"DICM")
    _m, url, headers, _d = http.sent[0]
    assert url == "https://orthanc.s3.eu-west-1.amazonaws.com/r/%s.dcm" % UUID
    assert headers["x-amz-server-side-encryption"] == "aws:kms"
    assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == "alias/pacs"
    assert headers["x-amz-security-token"] == "SESSION"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AK/20261203/eu-west-1/s3/aws4_request")
    assert "x-amz-server-side-encryption" in headers["Authorization"] and "content-md5" in headers["Authorization"]


@pytest.mark.parametrize("endpoint, expected", [
    (None, "UNSIGNED-PAYLOAD"),  # https: TLS protects the body, the signed Content-MD5 checks it
    ("http://127.0.0.1:9000", hashlib.sha256(b"DICM").hexdigest()),  # plain http: the signature covers the body
])
def test_s3_put_hashes_the_payload_only_without_tls(endpoint, expected):
    http = FakeHttp(200)
    creds = CredentialChain(None, {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"})
    store = S3Store("orthanc", "eu-west-1", creds, endpoint=endpoint, http=http,
                    clock=lambda: datetime.datetime(2026, 12, 3, tzinfo=datetime.timezone.utc))
    store.put("r/%s.dcm" % UUID, b"DICM")
    _m, _url, headers, data = http.sent[0]
    assert data == b"DICM" and headers["x-amz-content-sha256"] == expected
    assert headers["Content-MD5"] == base64.b64encode(hashlib.md5(b"DICM").digest()).decode()  # noqa: S324
    assert "content-md5;" in headers["Authorization"] and "x-amz-content-sha256" in headers["Authorization"]


def test_web_identity_then_cache_until_expiry(tmp_path):
    token = tmp_path / "token"
    token.write_text("eyJ.web.identity")
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
           "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>SK1"
           "</SecretAccessKey><SessionToken>ST1</SessionToken><Expiration>%s</Expiration></Credentials>"
           "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>" % expires).encode()
    http = FakeHttp((200, xml))
    chain = CredentialChain(http, {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"},
                            sts_endpoint="https://sts.eu-west-1.amazonaws.com/")
    first = chain.get()
    assert (first.access_key, first.session_token, first.source) == ("ASIA1", "ST1", "web_identity")
    assert chain.get() is first and len(http.sent) == 1
    form = http.sent[0][3].decode()
    assert "Action=AssumeRoleWithWebIdentity" in form and "WebIdentityToken=eyJ.web.identity" in form


def test_imds_v2_token_then_role_then_credentials():
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps({"AccessKeyId": "ASIA2", "SecretAccessKey": "SK2", "Token": "ST2", "Expiration": expires})
    http = FakeHttp((200, b"IMDSTOKEN"), (200, b"orthanc-role\n"), (200, body.encode()))
    creds = CredentialChain(http, {}, imds_endpoint="http://169.254.169.254").get()
    assert (creds.access_key, creds.source) == ("ASIA2", "instance_role")
    (m1, u1, h1, _), (m2, u2, h2, _), (m3, u3, _h3, _) = http.sent
    assert (m1, u1) == ("PUT", "http://169.254.169.254/latest/api/token")
    assert h1["X-aws-ec2-metadata-token-ttl-seconds"] == "21600" and h2["X-aws-ec2-metadata-token"] == "IMDSTOKEN"
    assert u3.endswith("/latest/meta-data/iam/security-credentials/orthanc-role")


def test_imds_refusing_the_token_explains_the_hop_limit():
    with pytest.raises(CredentialError, match="HttpPutResponseHopLimit 2"):
        CredentialChain(FakeHttp(403), {}).get()


def test_environment_comes_first():
    env = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_WEB_IDENTITY_TOKEN_FILE": os.devnull,
           "AWS_ROLE_ARN": "arn"}
    assert CredentialChain(FakeHttp(), env).get().source == "environment"
