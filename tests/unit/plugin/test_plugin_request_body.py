"""Bounds and types of REST request bodies (request_body.py): refused before json.loads, fields named."""
import json

import pytest

from medimaging_plugin import request_body
from medimaging_plugin.archive import rest as archive_rest
from medimaging_plugin.request_body import MAX_BYTES, MAX_DEPTH, BadRequest, check_bounds, nesting_depth, read_object
from medimaging_plugin.router import rest as router_rest

FIELDS = {"Destination": str}
EXAMPLE = '{"Destination": "NAME"}'


@pytest.mark.parametrize("text, depth", [
    (b"{}", 1), (b'{"a": [1, {"b": []}]}', 4), (b'"[[[[{{{{"', 0), (b'{"a": "\\"[[[["}', 1),
    (b"[" * 50 + b"]" * 50, MAX_DEPTH + 1), (b"", 0), (b'{"a": "\\\\"}', 1)])
def test_nesting_depth_ignores_brackets_inside_strings(text, depth):
    assert nesting_depth(text) == depth


def test_deep_nesting_is_refused_without_parsing(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("json.loads must not see this body")
    monkeypatch.setattr(request_body.json, "loads", forbidden)
    body = b'{"Destination": ' + b"[" * 900 + b"]" * 900 + b"}"
    with pytest.raises(BadRequest) as refused:
        read_object(body, FIELDS, EXAMPLE)
    assert refused.value.status == 400 and "nested deeper than %d" % MAX_DEPTH in str(refused.value)


def test_large_body_is_refused_with_413():
    with pytest.raises(BadRequest) as refused:
        check_bounds(b'{"Destination": "%s"}' % (b"x" * MAX_BYTES))
    assert refused.value.status == 413 and "bytes" in str(refused.value)


@pytest.mark.parametrize("body, named", [
    (b'{"Destination": ["cloud"]}', "Destination: expected a string, got a list"),
    (b'{"Destination": {"a": 1}}', "Destination: expected a string, got a JSON object"),
    (b'{"Destination": 3}', "Destination: expected a string, got a whole number"),
    (b'{"Destination": true}', "Destination: expected a string, got true or false"),
    (b'{"Destinaton": "cloud"}', "Destinaton: unknown field"),
    (b'["cloud"]', "expected a JSON object"),
    (b'"cloud"', "expected a JSON object"),
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
])
def test_wrong_types_name_the_field(body, named):
    with pytest.raises(BadRequest) as refused:
        read_object(body, FIELDS, EXAMPLE)
    assert refused.value.status == 400 and named in str(refused.value)


def test_empty_body_and_null_field_are_accepted():
    assert read_object(b"", FIELDS, EXAMPLE) == {}
    assert read_object(b'{"Destination": null}', FIELDS, EXAMPLE) == {"Destination": None}


def test_guard_answers_bad_requests_and_leaves_others_alone():
    seen = []

    def handler(method, groups, body):
        seen.append(body)
        raise BadRequest("StudyInstanceUID: expected a string, got a list")

    guarded = request_body.guard(handler)
    status, content_type, payload = guarded("POST", [], b"[" * 20 + b"]" * 20)
    assert status == 400 and not seen and "nested" in json.loads(payload)["error"]
    status, _, payload = guarded("POST", [], b"{}")
    assert status == 400 and "StudyInstanceUID" in json.loads(payload)["error"] and content_type == "application/json"


class _StoppedFeature:
    """A feature whose handlers must answer bad bodies with 400 before anything else."""
    state, error, queue, settings = "error", "not configured", None, None


def test_endpoints_refuse_wrong_types_with_400_before_looking_at_their_state():
    from medimaging_plugin.archive.feature import ArchiveFeature
    from medimaging_plugin.router.feature import RouterFeature
    restore = dict(archive_rest.routes(ArchiveFeature(None, {}, error="off")))[r"/medimaging/archive/restore"]
    retry = dict(router_rest.routes(RouterFeature(None, {}, error="off"), _StoppedFeature()))[
        r"/medimaging/router/retry-dead-letters"]
    for handler, body, named in ((restore, b'{"StudyInstanceUID": ["1.2"]}', "StudyInstanceUID"),
                                 (retry, b'{"Destination": ["cloud"]}', "Destination"),
                                 (retry, b"[" * 900 + b"]" * 900, "nested")):
        status, _, payload = handler("POST", [], body)
        assert status == 400 and named in json.loads(payload)["error"]
    assert retry("POST", [], b"{}")[0] == 503  # a valid body reaches the feature
