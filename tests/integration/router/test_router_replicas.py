"""Two Orthanc processes sharing one PostgreSQL index route a batch with no duplicates."""
from lab.dicom_factory import make_study
from router_harness import fast_router, onprem_kwargs, queue_rows, sop_uids, wait_until


def test_two_replicas_share_the_queue_without_duplicates(pg_database, orthanc_factory, cloud, tmp_path):
    router = fast_router({"cloud": {}}, Workers=2, BatchSize=1)
    shared = str(tmp_path / "shared-storage")
    first = orthanc_factory("onprem-a", **onprem_kwargs(pg_database, cloud.url, storage=shared, router=router))
    second = orthanc_factory("onprem-b", **onprem_kwargs(pg_database, cloud.url, storage=shared, router=router))
    for index in range(12):
        target = first if index % 2 else second
        for blob in make_study(instances=2, patient_id="REPL%02d" % index, seed=index):
            target.upload(blob)
    expected = sop_uids(first)
    assert expected == sop_uids(second) and len(expected) == 24
    wait_until(lambda: sop_uids(cloud) == expected, 90, "cloud holds the batch")
    rows = wait_until(lambda: (lambda rs: rs if rs and all(r[2] == "done" for r in rs) else None)(
        queue_rows(pg_database)), 30, "all done")
    assert len(rows) == 12 and len({r[0] for r in rows}) == 12  # one row per study
    assert sum(r[4] for r in rows) == 24  # each instance sent once: no double send
