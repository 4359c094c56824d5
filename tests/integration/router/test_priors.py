"""Priors: a returning patient's new study pulls the N most recent priors from the cloud, once."""
import datetime
import time

from lab.dicom_factory import make_study
from router_harness import onprem_kwargs, wait_until


def _study_uids(orthanc, patient_id):
    found = orthanc.request("POST", "/tools/find", json={"Level": "Study", "Query": {"PatientID": patient_id},
                                                          "Expand": True})
    found.raise_for_status()
    return {s["MainDicomTags"]["StudyInstanceUID"]: s["MainDicomTags"].get("StudyDate") for s in found.json()}


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
    time.sleep(3)  # give a (wrong) second lookup the time to happen
    assert sorted(_study_uids(onprem, "PRIOR01").values()) == ["20210301", "20220301", "20240501", "20240601"]
    status = onprem.get_json("/medimaging/priors/status")
    assert status["state"] == "running" and status["config"]["window_store"] == "postgresql"
    metrics = onprem.request("GET", "/medimaging/metrics").text
    assert 'medimaging_priors_lookups_total{result="fetched"} 1.0' in metrics
    assert 'medimaging_priors_lookups_total{result="window"}' in metrics
