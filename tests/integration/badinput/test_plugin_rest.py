"""Bad request bodies against every plugin endpoint of a real Orthanc (issue 11 part 1).

Each case: a 4xx answer whose message names the input, no traceback in the answer or in Orthanc's log, and Orthanc
still up afterwards (a 2 KB body nested 900 levels deep used to overflow the web server's stack: SIGSEGV).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plugin_badinput_world import (  # noqa: E402,F401  (fixtures are used by name)
    ADMIN, assert_no_traceback, assert_still_up, plugin_database, plugin_orthanc)

RETRY = "/medimaging/router/retry-dead-letters"
RESTORE = "/medimaging/archive/restore"
TEST = "/medimaging/oauth/servers/tokened/test"


def nested(depth, opener=b"[", closer=b"]"):
    return opener * depth + closer * depth


def nested_objects(depth):
    return b'{"a":' * depth + b"1" + b"}" * depth


# (path, body, expected status, text the answer must contain: it names the input)
CASES = {
    # the crash: nesting, at the top or inside the expected field, arrays or objects, about 2 KB
    "retry-array-900": (RETRY, nested(900), 400, "nested deeper"),
    "retry-object-900": (RETRY, nested_objects(400), 400, "nested deeper"),
    "retry-field-900": (RETRY, b'{"Destination": ' + nested(900) + b"}", 400, "nested deeper"),
    "retry-mixed-1000": (RETRY, b'[{"a":' * 500 + b"1" + b"}]" * 500, 400, "nested deeper"),
    "retry-depth-9": (RETRY, b'{"Destination": ' + nested(8) + b"}", 400, "nested deeper"),
    "restore-array-900": (RESTORE, nested(900), 400, "nested deeper"),
    "restore-object-900": (RESTORE, nested_objects(400), 400, "nested deeper"),
    "restore-field-900": (RESTORE, b'{"StudyInstanceUID": ' + nested(900) + b"}", 400, "nested deeper"),
    "test-array-900": (TEST, nested(900), 400, "nested deeper"),
    "test-object-5000": (TEST, nested_objects(2000), 400, "nested deeper"),
    # size
    "retry-100k": (RETRY, b'{"Destination": "' + b"x" * 100000 + b'"}', 413, "bytes"),
    "restore-100k": (RESTORE, b'{"StudyInstanceUID": "' + b"1." * 50000 + b'1"}', 413, "bytes"),
    "test-1m": (TEST, b"[" + b"0," * 500000 + b"0]", 413, "bytes"),
    # wrong JSON types where a string belongs
    "retry-list": (RETRY, b'{"Destination": ["cloud"]}', 400, "Destination: expected a string, got a list"),
    "retry-object": (RETRY, b'{"Destination": {"Name": "cloud"}}', 400, "Destination: expected a string"),
    "retry-number": (RETRY, b'{"Destination": 42}', 400, "Destination: expected a string"),
    "retry-bool": (RETRY, b'{"Destination": true}', 400, "Destination: expected a string"),
    "retry-nan": (RETRY, b'{"Destination": NaN}', 400, "Destination: expected a string"),
    "retry-infinity": (RETRY, b'{"Destination": 1e999999}', 400, "Destination: expected a string"),
    "restore-list": (RESTORE, b'{"StudyInstanceUID": ["1.2.3"]}', 400, "StudyInstanceUID: expected a string"),
    "restore-object": (RESTORE, b'{"StudyInstanceUID": {"a": "1.2"}}', 400, "StudyInstanceUID: expected a string"),
    "restore-number": (RESTORE, b'{"StudyInstanceUID": 1.2}', 400, "StudyInstanceUID: expected a string"),
    "restore-bool": (RESTORE, b'{"StudyInstanceUID": false}', 400, "StudyInstanceUID: expected a string"),
    # the body itself is not an object
    "retry-body-list": (RETRY, b'["cloud"]', 400, "request body: expected a JSON object"),
    "retry-body-string": (RETRY, b'"cloud"', 400, "request body: expected a JSON object"),
    "retry-body-null": (RETRY, b"null", 400, "request body: expected a JSON object"),
    "restore-body-list": (RESTORE, b'["1.2.3"]', 400, "request body: expected a JSON object"),
    "restore-body-number": (RESTORE, b"12", 400, "request body: expected a JSON object"),
    # not JSON at all
    "retry-truncated": (RETRY, b'{"Destination": "cl', 400, "request body: not valid JSON"),
    "retry-binary": (RETRY, b"\xff\xfe\x00{\x00}", 400, "request body: not valid JSON"),
    "retry-huge-int": (RETRY, b'{"Destination": ' + b"9" * 5000 + b"}", 400, "request body: not valid JSON"),
    "restore-truncated": (RESTORE, b'{"StudyInstanceUID"', 400, "request body: not valid JSON"),
    "restore-dicom-bytes": (RESTORE, b"\x00" * 128 + b"DICM", 400, "request body: not valid JSON"),
    # unknown fields and values that name nothing
    "retry-unknown-field": (RETRY, b'{"Destinaton": "cloud"}', 400, "Destinaton: unknown field"),
    "restore-unknown-field": (RESTORE, b'{"StudyUID": "1.2.3"}', 400, "StudyUID: unknown field"),
    "retry-unknown-destination": (RETRY, b'{"Destination": "nowhere"}', 404, "Destination: no destination named"),
    "retry-newline-destination": (RETRY, b'{"Destination": "cloud\\n"}', 404, "Destination: no destination named"),
    "retry-brackets-in-string": (RETRY, b'{"Destination": "' + b"[" * 900 + b'"}', 404, "Destination"),
    "restore-traversal": (RESTORE, b'{"StudyInstanceUID": "1.2/../../x"}', 400, "StudyInstanceUID must be"),
    "restore-newline": (RESTORE, b'{"StudyInstanceUID": "1.2.3\\n"}', 400, "StudyInstanceUID must be"),
    "restore-too-long": (RESTORE, b'{"StudyInstanceUID": "' + b"1." * 40 + b'1"}', 400, "StudyInstanceUID must be"),
    "restore-empty-uid": (RESTORE, b'{"StudyInstanceUID": ""}', 400, "StudyInstanceUID must be"),
    "restore-empty-body": (RESTORE, b"", 400, "StudyInstanceUID must be"),
    "restore-query-uid": (RESTORE, b'{"StudyInstanceUID": "1.2?comp=list"}', 400, "StudyInstanceUID must be"),
    "test-unknown-server": ("/medimaging/oauth/servers/nowhere/test", b"", 404, "nowhere"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_body_is_refused_and_orthanc_stays_up(plugin_orthanc, case):
    path, body, status, named = CASES[case]
    log_before = len(plugin_orthanc.log_text())
    answer = plugin_orthanc.request("POST", path, data=body, timeout=30)
    assert answer.status_code == status, (case, answer.status_code, answer.text[:500])
    assert named in answer.text, (case, answer.text[:500])
    assert_no_traceback(answer.text, plugin_orthanc.log_text()[log_before:])
    assert_still_up(plugin_orthanc)


def test_oauth_test_is_rate_limited_without_new_token_requests(plugin_orthanc):
    """A second test within the cooldown answers 503 with Retry-After and the last result; it costs no token."""
    first = plugin_orthanc.request("POST", TEST)
    assert first.status_code in (200, 502)  # the server is a closed port: the QIDO ping fails, the token is static
    refreshes_before = plugin_orthanc.get_json("/medimaging/oauth/status")["servers"]["tokened"]
    again = plugin_orthanc.request("POST", TEST)
    assert again.status_code == 503 and 1 <= int(again.headers["Retry-After"]) <= 5
    assert "tokened" in again.json()["error"] and again.json()["last"]["server"] == "tokened"
    assert plugin_orthanc.get_json("/medimaging/oauth/status")["servers"]["tokened"] == refreshes_before
    assert_still_up(plugin_orthanc)


def test_every_feature_is_running(plugin_orthanc):
    """The cases above reached running features (a 503 from a stopped one would prove nothing)."""
    states = plugin_orthanc.get_json("/medimaging/status")
    assert {section: entry["state"] for section, entry in states.items()} == {
        "DicomWebOAuth": "running", "MedimagingRouter": "running", "MedimagingPriors": "not-configured",
        "MedimagingArchive": "running", "MedimagingStorage": "not-configured"}
