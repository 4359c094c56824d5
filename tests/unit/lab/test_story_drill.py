"""The ransomware drill's bookkeeping: which studies count as routed, and what the summary says about the drill."""
import requests

from lab.story import drill
from lab.story.ledger import Ledger
from lab.story.summary import table


class FakeCloud:
    def __init__(self, held):
        self.held = held

    def instances(self, study_uid):
        return self.held.get(study_uid, set())


def _ledger(tmp_path):
    ledger = Ledger(str(tmp_path / "ledger.json"))
    ledger.add_study("1.1", "P1", "CT", "2020-01-01", ["1.1.1", "1.1.2"], 10)
    ledger.add_study("1.2", "P2", "MR", "2021-01-01", ["1.2.1"], 10)
    ledger.add_study("1.3", "P3", "CR", "2022-01-01", ["1.3.1"], 10)
    return ledger


def test_only_studies_complete_in_the_cloud_count_as_routed(tmp_path):
    cloud = FakeCloud({"1.1": {"1.1.1", "1.1.2", "9.9"}, "1.2": set(), "1.3": {"1.3.2"}})
    assert drill.routed_studies(_ledger(tmp_path), cloud) == ["1.1"]
    cloud.held["1.1"] = {"1.1.1"}  # one instance missing: not routed
    assert not drill.routed_studies(_ledger(tmp_path), cloud)


def test_a_pacs_that_refuses_connections_is_down_and_other_errors_are_not_hidden():
    class Refusing:
        def study_count(self):
            raise requests.ConnectionError("refused")

    class Broken:
        def study_count(self):
            raise ValueError("not JSON")

    assert drill.pacs_answers(Refusing()) is False
    try:
        drill.pacs_answers(Broken())
    except ValueError:
        pass
    else:
        raise AssertionError("an unexpected answer must not read as 'the PACS is down'")


def test_the_summary_reports_the_drill(tmp_path):
    ledger = _ledger(tmp_path)
    ledger.record("after_outage", {"onprem": 4, "cloud": 4, "archive": 0, "lost": 0, "waited_seconds": 1.0})
    ledger.record("ransomware_drill", {"drill": "ransomware", "pacs_down_during_drill": True,
                                       "routed_before_the_stop": 3, "opened_in_cloud_viewer": 2,
                                       "median_seconds_to_image": 4.2, "pacs_restored_seconds": 12.5})
    text = table(ledger)
    assert "ransomware drill: PACS host down / restored in (s)" in text and "yes / 12.5" in text
    assert "studies routed before / opened in the cloud viewer" in text and "3 / 2" in text
    assert "anything lost" in text
