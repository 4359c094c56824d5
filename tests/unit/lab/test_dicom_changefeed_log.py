"""The lab DICOM service's change feed (Azure API v2): order, derived State, time window, paging, refusals,
and the log kept in a file across a restart of the emulator."""
import datetime

import pytest

from lab.azure import dicom_changefeed as cf

T0 = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.timezone.utc)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += datetime.timedelta(seconds=10)
        return self.now


def feed_with_history(path=None):
    feed = cf.ChangeFeed(path, clock=Clock())
    feed.record("create", "1.1", "1.1.1", "1.1.1.1", {"00080018": {"vr": "UI", "Value": ["1.1.1.1"]}})  # 10:00:10
    feed.record("create", "1.1", "1.1.1", "1.1.1.2", {"00080018": {"vr": "UI", "Value": ["1.1.1.2"]}})  # 10:00:20
    feed.record("create", "1.1", "1.1.1", "1.1.1.1", {"00080018": {"vr": "UI", "Value": ["1.1.1.1"]}})  # replaced
    feed.record("delete", "1.1", "1.1.1", "1.1.1.2")  # 10:00:40
    return feed


def test_entries_in_order_with_the_state_each_instance_has_now():
    entries = feed_with_history().read()
    assert [(e["Sequence"], e["Action"], e["SopInstanceUid"], e["State"]) for e in entries] == [
        (1, "create", "1.1.1.1", "replaced"), (2, "create", "1.1.1.2", "deleted"),
        (3, "create", "1.1.1.1", "current"), (4, "delete", "1.1.1.2", "deleted")]
    assert entries[0]["Timestamp"] == "2026-12-03T10:00:10.0000000+00:00"
    assert entries[2]["Metadata"]["00080018"]["Value"] == ["1.1.1.1"]
    assert entries[0]["Metadata"] is None and entries[3]["Metadata"] is None  # only a current instance has one


def test_time_window_offset_limit_and_metadata_switch():
    feed = feed_with_history()
    window = feed.read(**cf.parse_query({"startTime": "2026-12-03T10:00:20Z", "endTime": "2026-12-03T10:00:40Z"}))
    assert [e["Sequence"] for e in window] == [2, 3]  # start inclusive, end exclusive
    page = feed.read(**cf.parse_query({"offset": "1", "limit": "2", "includeMetadata": "false"}))
    assert [e["Sequence"] for e in page] == [2, 3] and all("Metadata" not in e for e in page)
    assert feed.latest()["Sequence"] == 4 and cf.ChangeFeed().latest() is None


def test_query_defaults_are_azures():
    assert cf.parse_query({}) == {"start_time": None, "end_time": None, "offset": 0, "limit": 100,
                                  "include_metadata": True}
    assert cf.parse_query({"limit": "200"})["limit"] == 200
    assert cf.parse_query({"starttime": "2026-12-03T10:00:20.1234567 00:00"})["start_time"] == \
        T0 + datetime.timedelta(seconds=20, microseconds=123456)  # seven digits; '+' read from a query as ' '


@pytest.mark.parametrize("params, words", [
    ({"limit": "201"}, "between 1 and 200"), ({"limit": "0"}, "between 1 and 200"),
    ({"limit": "ten"}, "between 1 and 200"), ({"offset": "-1"}, "non-negative"),
    ({"startTime": "yesterday"}, "not a valid date"), ({"includeMetadata": "yes"}, "true or false"),
    ({"startTime": "2026-12-03T11:00:00Z", "endTime": "2026-12-03T10:00:00Z"}, "earlier than"),
    ({"since": "1"}, "not supported"),
])
def test_values_the_service_refuses(params, words):
    with pytest.raises(cf.FeedQueryError, match=words):
        cf.parse_query(params)


def test_the_log_survives_a_restart_and_one_feed_per_file(tmp_path):
    path = str(tmp_path / "svc" / "changefeed.jsonl")
    feed_with_history(path)
    again = cf.ChangeFeed(path)  # a new process reads the file
    assert [(e["Sequence"], e["State"]) for e in again.read()] == [(1, "replaced"), (2, "deleted"), (3, "current"),
                                                                   (4, "deleted")]
    assert again.record("create", "1.2", "1.2.1", "1.2.1.1") == 5
    assert cf.for_path(path) is cf.for_path(path)
    cf.forget(path)
    assert cf.for_path(path).latest()["Sequence"] == 5
    cf.forget(path)
