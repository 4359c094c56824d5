"""SigV4 against AWS's published examples, and against botocore's own signer on S3-shaped requests."""
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from medimaging_plugin.storage.aws_credentials import AwsCredentials
from medimaging_plugin.storage.sigv4 import canonical_request, sha256_hex, sign

S3_DOC_KEYS = AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
SUITE_KEYS = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
EMPTY = sha256_hex(b"")


def test_s3_get_object_example():
    """Amazon S3 API reference, "Signature Calculations for the Authorization Header", GET Object."""
    headers = {"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9", "x-amz-content-sha256": EMPTY,
               "x-amz-date": "20130524T000000Z"}
    text, signed = canonical_request("GET", "/test.txt", [], headers, EMPTY, "s3")
    assert sha256_hex(text.encode()) == "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    assert signed == "host;range;x-amz-content-sha256;x-amz-date"
    assert sign("GET", "/test.txt", [], headers, EMPTY, S3_DOC_KEYS, "us-east-1", "s3", "20130524T000000Z") == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_s3_put_object_example():
    """Same page, PUT Object: a '$' in the key, a Date header and a storage class signed."""
    body = b"Welcome to Amazon S3."
    payload = sha256_hex(body)
    assert payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    headers = {"Host": "examplebucket.s3.amazonaws.com", "Date": "Fri, 24 May 2013 00:00:00 GMT",
               "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
               "x-amz-content-sha256": payload}
    value = sign("PUT", "/test$file.text", [], headers, payload, S3_DOC_KEYS, "us-east-1", "s3", "20130524T000000Z")
    assert value.endswith("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"), value


def test_sigv4_test_suite_get_vanilla():
    """AWS's SigV4 test suite, get-vanilla (service 'service', us-east-1)."""
    headers = {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"}
    value = sign("GET", "/", [], headers, EMPTY, SUITE_KEYS, "us-east-1", "service", "20150830T123600Z")
    assert value == ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                     "SignedHeaders=host;x-amz-date, "
                     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


@pytest.mark.parametrize("key", ["pacs/0a1b2c3d-0000-4000-8000-000000000001.dcm", "a b/c+d=e&f~g.dcm.head",
                                 "0a/1b/0a1b2c3d-0000-4000-8000-000000000001"])
@pytest.mark.parametrize("method,body", [("PUT", b"DICM" * 100), ("GET", b""), ("DELETE", b"")])
def test_same_signature_as_botocore(key, method, body):
    """botocore's S3 signer (an independent implementation) signs the same request identically."""
    from urllib.parse import quote
    payload = sha256_hex(body) if body else EMPTY
    path = "/bucket/" + quote(key, safe="/-_.~")
    request = AWSRequest(method=method, url="http://127.0.0.1:5000" + path, data=body,
                         headers={"x-amz-content-sha256": payload})
    S3SigV4Auth(Credentials("AK", "SK", "SESSION"), "s3", "eu-west-1").add_auth(request)
    amz_date = request.headers["X-Amz-Date"]  # botocore's clock; ours signs with the same instant
    headers = {"host": "127.0.0.1:5000", "x-amz-date": amz_date, "x-amz-content-sha256": payload,
               "x-amz-security-token": "SESSION"}
    ours = sign(method, path, [], headers, payload, AwsCredentials("AK", "SK", "SESSION"), "eu-west-1", "s3",
                amz_date)
    assert ours == request.headers["Authorization"]
