"""Redaction: the last line of defence for text that comes from outside (error bodies, exceptions)."""
from medimaging_plugin.log import redact


def test_known_secrets_and_token_shapes_are_masked():
    text = ("Authorization: Bearer abc.def-ghi client_secret=hunter22&x=1 "
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln {\"access_token\": \"opaque-123\"} my-known-value")
    out = redact(text, known_secrets=("my-known-value",))
    for leaked in ("abc.def-ghi", "hunter22", "eyJzdWIiOiJ4In0", "opaque-123", "my-known-value"):
        assert leaked not in out
    assert "x=1" in out


def test_plain_text_is_untouched():
    assert redact("cannot reach https://login/token: ConnectionError") == \
        "cannot reach https://login/token: ConnectionError"


def test_prose_mentioning_tokens_is_untouched():
    text = "no valid token: DICOMweb calls to this server will be refused; secret file: /run/x"
    assert redact(text) == text
