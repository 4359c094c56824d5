"""Outage drills and refusals: zero loss, the backlog drains after recovery, refused studies go to
dead-letter with a reason without blocking the others."""
from lab.dicom_factory import make_study
from router_harness import (FakeDicomWeb, fast_router, onprem_kwargs, queue_rows, router_status, sop_uids,
                            wait_until)


def _upload(onprem, count, prefix):
    for index in range(count):
        for blob in make_study(instances=2, patient_id="%s%02d" % (prefix, index), seed=index):
            onprem.upload(blob)


def test_cloud_5xx_then_stopped_then_back_drains_everything(pg_database, orthanc_factory, cloud):
    refusing = FakeDicomWeb(stow_status=503).start()
    try:
        onprem = orthanc_factory("onprem", **onprem_kwargs(pg_database, cloud.url,
                                                           router=fast_router({"cloud": {}})))
        # 1. the cloud answers 503: point the DICOMweb server at the refusing fake
        onprem.request("PUT", "/dicom-web/servers/cloud", json={"Url": refusing.url}).raise_for_status()
        _upload(onprem, 3, "OUT5XX")
        status = wait_until(lambda: (lambda s: s if s["last_error"] and refusing.counts["stow"] >= 6 else None)(
            router_status(onprem)["destinations"]["cloud"]), 60, "router tried the refusing cloud, with an error")
        assert status["done"] == 0 and status["dead"] == 0, status
        # 2. the cloud is silently gone (its port closed)
        cloud.stop()
        onprem.request("PUT", "/dicom-web/servers/cloud",
                       json={"Url": cloud.url + "/dicom-web/"}).raise_for_status()
        _upload(onprem, 3, "OUTDOWN")
        wait_until(lambda: router_status(onprem)["destinations"]["cloud"]["pending"] == 6, 60, "backlog of 6")
        # 3. back: everything drains, nothing dead-lettered
        cloud.start()
        expected = sop_uids(onprem)
        wait_until(lambda: sop_uids(cloud) == expected, 90, "backlog drained into the cloud")
        wait_until(lambda: {r[2] for r in queue_rows(pg_database)} == {"done"}, 30, "every queue row done")
        assert len(expected) == 12
    finally:
        refusing.stop()


def test_rejected_study_goes_to_dead_letter_without_blocking(pg_database, orthanc_factory, cloud):
    """A destination answering 400 to every STOW: each instance is dead-lettered with that answer (the router
    sends them one by one to find which is at fault), the study is done, the others still go."""
    rejecting = FakeDicomWeb(stow_status=400).start()
    try:
        onprem = orthanc_factory("onprem", **onprem_kwargs(
            pg_database, cloud.url, servers={"strict": {"Url": rejecting.url}},
            router=fast_router({"cloud": {}, "strict": {"Modalities": ["MR"]}})))
        for blob in make_study(instances=2, patient_id="DLQ01", modality="MR", seed=1):
            onprem.upload(blob)
        _upload(onprem, 3, "DLQOK")  # CT: only for the cloud (modality filter)

        def strict_dead(count):
            status = router_status(onprem)
            return status if status["destinations"]["strict"]["dead_instances"] == count else None
        status = wait_until(lambda: strict_dead(2), 60, "both refused instances are dead-lettered")
        assert all("HTTP 400" in d["reason"] for d in status["dead_instances"] if d["destination"] == "strict")
        expected = sop_uids(onprem)
        wait_until(lambda: sop_uids(cloud) == expected, 60, "the other studies still reach the cloud")
        assert [r[2] for r in queue_rows(pg_database) if r[1] == "strict"] == ["done"]  # CT studies filtered out
        # retry-dead-letters puts the study back to work (and, still refused, its instances back to dead-letter)
        answer = onprem.request("POST", "/medimaging/router/retry-dead-letters", json={"Destination": "strict"})
        assert answer.status_code == 200 and answer.json()["requeued"] == 1
        stow_before = rejecting.counts["stow"]
        wait_until(lambda: rejecting.counts["stow"] > stow_before, 30, "retried after the requeue")
        wait_until(lambda: strict_dead(2), 30, "dead again")
        assert "Bearer" not in onprem.request("GET", "/medimaging/router/status").text
    finally:
        rejecting.stop()
