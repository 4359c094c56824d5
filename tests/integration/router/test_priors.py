"""Priors: a returning patient's new study pulls the N most recent priors from the cloud, once."""
import datetime
import re

from lab.dicom_factory import make_study
from router_harness import fast_router, onprem_kwargs, queue_rows, wait_until


def _study_uids(orthanc, patient_id):
    found = orthanc.request("POST", "/tools/find", json={"Level": "Study", "Query": {"PatientID": patient_id},
                                                          "Expand": True})
    found.raise_for_status()
    return {s["MainDicomTags"]["StudyInstanceUID"]: s["MainDicomTags"].get("StudyDate") for s in found.json()}


def _lookups(metrics_text, result):
    found = re.search(r'^medimaging_priors_lookups_total\{result="%s"\} (\S+)$' % result, metrics_text, re.M)
    return float(found.group(1)) if found else 0


def test_new_study_pulls_two_most_recent_priors_once(pg_database, orthanc_factory, cloud):
    for year in (2019, 2020, 2021, 2022):
        for blob in make_study(instances=2, patient_id="PRIOR01", study_date=datetime.date(year, 3, 1), seed=year):
            cloud.upload(blob)
    for blob in make_study(instances=1, patient_id="OTHER01", study_date=datetime.date(2023, 1, 1)):
        cloud.upload(blob)
    onprem = orthanc_factory("onprem", **onprem_kwargs(
        pg_database, cloud.url, priors={"Server": "cloud", "Count": 2, "Modalities": ["CT"]}))
    for blob in make_study(instances=1, patient_id="PRIOR01", study_date=datetime.date(2024, 5, 1)):
        onprem.upload(blob)
    local = wait_until(lambda: (lambda u: u if len(u) == 3 else None)(_study_uids(onprem, "PRIOR01")), 60,
                       "two priors retrieved")
    assert sorted(local.values()) == ["20210301", "20220301", "20240501"]
    assert _study_uids(onprem, "OTHER01") == {}  # another patient's studies never come
    # A second new study within the window: no new lookup.
    for blob in make_study(instances=1, patient_id="PRIOR01", study_date=datetime.date(2024, 6, 1)):
        onprem.upload(blob)
    # Every new study of the patient is looked up and gated by the window: the two retrieved priors and this one.
    # Wait for those three answers (a fixed pause raced with a loaded machine's worker) and only then count studies.
    metrics = wait_until(lambda: (lambda text: text if _lookups(text, "window") >= 3 else None)(
        onprem.request("GET", "/medimaging/metrics").text), 60, "three lookups gated by the window")
    assert sorted(_study_uids(onprem, "PRIOR01").values()) == ["20210301", "20220301", "20240501", "20240601"]
    status = onprem.get_json("/medimaging/priors/status")
    assert status["state"] == "running" and status["config"]["window_store"] == "postgresql"
    assert _lookups(metrics, "fetched") == 1 and _lookups(metrics, "window") == 3, metrics


def test_priors_are_not_routed_back_to_the_cloud_they_came_from(pg_database, orthanc_factory, cloud):
    """Router and priors on the same cloud: the new study is sent, the retrieved priors are recorded as
    already there (done, 0 instances sent) and never STOWed back."""
    for year in (2019, 2020):
        for blob in make_study(instances=2, patient_id="BACK01", study_date=datetime.date(year, 3, 1), seed=year):
            cloud.upload(blob)
    onprem = orthanc_factory("onprem", **onprem_kwargs(
        pg_database, cloud.url, priors={"Server": "cloud", "Count": 2},
        router=fast_router({"cloud": {}})))
    new_study = make_study(instances=3, patient_id="BACK01", study_date=datetime.date(2024, 5, 1), seed=7)
    for blob in new_study:
        onprem.upload(blob)
    rows = wait_until(lambda: (lambda r: r if len(r) == 3 and all(row[2] == "done" for row in r) else None)(
        queue_rows(pg_database)), 60, "new study routed and both priors recorded")
    by_uid = {row[0]: row for row in rows}
    priors = {uid for uid, date in _study_uids(onprem, "BACK01").items() if date != "20240501"}
    assert len(priors) == 2
    for uid in priors:
        _uid, destination, state, attempts, instances_sent, note = by_uid[uid]
        assert (destination, state, attempts, instances_sent) == ("cloud", "done", 0, 0)
        assert note.startswith("retrieved from this destination")
    (new_uid,) = set(by_uid) - priors
    assert by_uid[new_uid][2:5] == ("done", 0, 3)
    metrics = onprem.request("GET", "/medimaging/metrics").text
    assert 'medimaging_router_enqueued_total{destination="cloud",result="from_destination"} 2.0' in metrics
    assert 'medimaging_router_instances_sent_total{destination="cloud"} 3.0' in metrics
