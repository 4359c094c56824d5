"""Routing survives kill -9: every study ends up in the cloud exactly once, nothing lost."""
import pytest

from lab.dicom_factory import make_study
from router_harness import fast_router, onprem_kwargs, queue_rows, router_status, sop_uids, wait_until


@pytest.mark.orthanc_lines("1.10", "1.12")
def test_kill9_mid_routing_every_study_arrives_once(pg_database, orthanc_factory, cloud):
    onprem = orthanc_factory("onprem", **onprem_kwargs(
        pg_database, cloud.url, router=fast_router({"cloud": {"Type": "dicomweb"}}, BatchSize=2)))
    for index in range(10):
        for blob in make_study(instances=3, patient_id="CRASH%02d" % index, seed=index):
            onprem.upload(blob)
    # Some studies are routed, most are not yet: crash right there.
    wait_until(lambda: router_status(onprem)["destinations"]["cloud"]["done"] >= 1, 60, "first study routed")
    onprem.kill()
    onprem.start()
    expected = sop_uids(onprem)
    assert len(expected) == 30
    wait_until(lambda: sop_uids(cloud) == expected, 90, "cloud holds every local instance")
    rows = wait_until(lambda: [r for r in queue_rows(pg_database) if r[2] == "done"] if all(
        r[2] == "done" for r in queue_rows(pg_database)) else None, 30, "queue drained")
    assert len(rows) == 10  # one row per study and destination: enqueued once
    assert len({r[0] for r in rows}) == 10
    assert len(sop_uids(cloud)) == 30  # exactly once: no instance stored twice as a new object
