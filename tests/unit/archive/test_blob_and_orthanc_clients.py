"""BlobArchive.upload's MD5 handling and OrthancClient's one-request attachment read, with recording fakes."""
import hashlib
import io

import pytest
import requests

from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_rest
from ansible_collections.medimaging.orthanc.plugins.module_utils import archive_blob

DATA = b"DICM" * 1000
MD5 = hashlib.md5(DATA).hexdigest()  # noqa: S324 - integrity check


class RecordingBlob:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def upload_blob(self, data, **kwargs):
        self.calls.append((data, kwargs))
        return self.answer


class RecordingContainer:
    def __init__(self, answer):
        self.blob = RecordingBlob(answer)
        self.names = []

    def get_blob_client(self, name):
        self.names.append(name)
        return self.blob


def test_upload_sends_the_given_md5_as_content_md5_without_hashing_again():
    container = RecordingContainer({"content_md5": bytearray(bytes.fromhex(MD5))})
    archive_blob.BlobArchive(container).upload("1.2/1.3/1.4.dcm", DATA, MD5)
    (data, kwargs), = container.blob.calls
    assert container.names == ["1.2/1.3/1.4.dcm"] and data is DATA
    assert bytes(kwargs["transactional_content_md5"]) == bytes.fromhex(MD5)  # checked by the service
    assert bytes(kwargs["content_settings"].content_md5) == bytes.fromhex(MD5)  # stored with the blob
    assert kwargs["content_settings"].content_type == "application/dicom" and kwargs["overwrite"] is True
    assert "validate_content" not in kwargs


def test_upload_refuses_an_answer_with_another_md5():
    container = RecordingContainer({"content_md5": bytearray(16)})
    with pytest.raises(archive_blob.ArchiveError, match="1.2/1.3/1.4.dcm was stored with MD5 %s instead of %s" % ("0" * 32, MD5)):
        archive_blob.BlobArchive(container).upload("1.2/1.3/1.4.dcm", DATA, MD5)


def test_upload_accepts_an_answer_without_md5():
    archive_blob.BlobArchive(RecordingContainer({"etag": "x"})).upload("1.2/1.3/1.4.dcm", DATA, MD5)


@pytest.mark.parametrize("etag, expected", [
    ('"0-%s"' % MD5, MD5), ('"12-%s"' % MD5.upper(), MD5), ('0-%s' % MD5, MD5),
    ('"0-"', None), (None, None), ('"abc"', None), ('"0-%s"' % MD5[:-1], None), ('W/"0-%s"' % MD5, None)])
def test_md5_from_etag(etag, expected):
    assert orthanc_rest.md5_from_etag(etag) == expected


class OneAnswerSession(requests.Session):
    """Answers every request with status/body/headers, recording what was asked."""

    def __init__(self, status, body, headers):
        super().__init__()
        self.answer, self.asked = (status, body, headers), []

    def request(self, method, url, **kwargs):
        self.asked.append((method, url, kwargs.get("stream")))
        response = requests.Response()
        response.status_code, body, headers = self.answer
        response.raw = io.BytesIO(body)
        response.headers.update(headers)
        return response


def test_get_attachment_returns_bytes_and_recorded_md5_from_one_streamed_request():
    session = OneAnswerSession(200, DATA, {"ETag": '"0-%s"' % MD5})
    client = orthanc_rest.OrthancClient("http://127.0.0.1:8042", session=session)
    assert client.get_attachment("/instances/i1/attachments/dicom/data") == (DATA, MD5)
    assert session.asked == [("GET", "http://127.0.0.1:8042/instances/i1/attachments/dicom/data", True)]
    assert client.get_bytes("/instances/i1/file") == DATA


def test_get_attachment_error_names_the_call():
    session = OneAnswerSession(404, b'{"Message": "Unknown resource"}', {})
    client = orthanc_rest.OrthancClient("http://127.0.0.1:8042", session=session)
    with pytest.raises(orthanc_rest.OrthancError, match="GET /instances/i1/attachments/dicom/data answered 404: "
                                                        "Unknown resource"):
        client.get_attachment("/instances/i1/attachments/dicom/data")


def test_upload_above_the_single_put_limit_uses_block_md5s_and_checks_the_whole_here(monkeypatch):
    # In blocks, a whole-blob Content-MD5 would be sent with every block (and refused); the service checks each
    # block's MD5, the whole one is checked before sending.
    monkeypatch.setattr(archive_blob.BlobArchive, "SINGLE_PUT_LIMIT", len(DATA) - 1)
    container = RecordingContainer(None)
    archive_blob.BlobArchive(container).upload("1.2/1.3/1.4.dcm", DATA, MD5)
    (data, kwargs), = container.blob.calls
    assert kwargs["validate_content"] is True and "transactional_content_md5" not in kwargs
    assert bytes(kwargs["content_settings"].content_md5) == bytes.fromhex(MD5)
    with pytest.raises(archive_blob.ArchiveError, match="1.2/1.3/1.4.dcm: the bytes have MD5 %s, not %s: not uploaded"
                       % (MD5, "0" * 32)):
        archive_blob.BlobArchive(container).upload("1.2/1.3/1.4.dcm", DATA, "0" * 32)
    assert len(container.blob.calls) == 1  # nothing sent for the mismatch


def test_upload_at_the_single_put_limit_is_one_put_with_content_md5(monkeypatch):
    monkeypatch.setattr(archive_blob.BlobArchive, "SINGLE_PUT_LIMIT", len(DATA))
    container = RecordingContainer({"content_md5": bytearray(bytes.fromhex(MD5))})
    archive_blob.BlobArchive(container).upload("1.2/1.3/1.4.dcm", DATA, MD5)
    assert "validate_content" not in container.blob.calls[0][1]


def test_token_credential_comes_from_the_auth_engine_without_a_subscription():
    from azure.identity import ClientSecretCredential
    from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import AuthConfigError
    params = {"auth_source": "env", "client_id": "app", "secret": "s3cret", "tenant": "tenant-1",
              "authority_host": "https://login.lab.example"}
    credential = archive_blob.token_credential(params, environ={})  # no AZURE_SUBSCRIPTION_ID anywhere
    assert isinstance(credential, ClientSecretCredential)
    with pytest.raises(AuthConfigError, match="auth_source=env needs AZURE_CLIENT_ID"):
        archive_blob.token_credential({"auth_source": "env"}, environ={})
    with pytest.raises(AuthConfigError, match="authority_host must be an https:// URL"):
        archive_blob.token_credential(dict(params, authority_host="http://login.lab.example"), environ={})
