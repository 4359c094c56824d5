"""Outage drill: the token endpoint goes down and the cached token expires; zero loss.

The router sends to a JWT-guarded cloud Orthanc through a DICOMweb server kept fresh by DicomWebOAuth (client
credentials from a real oauth2-mock-server over HTTPS). A first batch is routed; then the token server is
stopped (by PID) and its short-lived token runs out. The on-prem PACS keeps accepting C-STORE and REST uploads,
and what arrives while no token can be had stays queued (pending, never dead-lettered, nothing reaches the
cloud). The token server comes back on the same port with the same signing key: the backlog drains, every
SOPInstanceUID is in the cloud exactly once, and queue, status and metrics agree on the counts.
"""
import datetime
import io
import re
import secrets

import pytest
from pydicom import dcmread
from router_harness import fast_router, onprem_kwargs, queue_rows, router_status, sop_uids, wait_until

from lab.ca import LabCA
from lab.dicom_factory import make_study
from lab.story.modality import send as cstore
# plugin_harness is on sys.path through router_harness
from plugin_harness import AUDIENCE, CLIENT_ID, GUARD_SCRIPT, SCOPE, TokenServer, missing_prerequisites

TTL = 6  # seconds: the cached token surely expires during the outage
STUDIES_PER_BATCH = 2  # per way in: REST and C-STORE
INSTANCES = 2


@pytest.fixture
def token_server(tmp_path):
    missing = missing_prerequisites()
    if missing:
        pytest.fail("prerequisites missing: " + "; ".join(missing))
    ca = LabCA(str(tmp_path / "ca"))
    ca.ensure()
    server = TokenServer(str(tmp_path), ca, TTL, secrets.token_urlsafe(24))
    try:
        yield server.start()
    finally:
        server.stop()  # by PID; a second stop (already stopped) is harmless


def start_lab(pg, orthanc_factory, tokens, tmp_path):
    guard_env = {"GUARD_JWKS_URL": tokens.url + "/jwks", "GUARD_ISSUER": tokens.issuer,
                 "GUARD_AUDIENCE": AUDIENCE, "GUARD_CA_FILE": tokens.cafile}
    cloud = orthanc_factory("cloud", config={"Python": {"Path": GUARD_SCRIPT}, "PythonScript": GUARD_SCRIPT,
                                             "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}},
                            plugins=["DicomWeb", "Python"], env=guard_env)
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(tokens.client_secret + "\n")
    secret_file.chmod(0o600)
    kwargs = onprem_kwargs(pg, cloud.url, router=fast_router({"cloud": {}}))
    # "cloud" exists only as the OAuth-managed registration (no static, token-less twin).
    kwargs["config"]["DicomWeb"]["Servers"] = {}
    kwargs["config"]["DicomWebOAuth"] = {
        "RefreshMarginSeconds": 2, "RefreshJitterSeconds": 0.5, "RetryMinSeconds": 0.5, "RetryMaxSeconds": 2,
        "HttpTimeoutSeconds": 5, "CaBundle": tokens.cafile,
        "Servers": {"cloud": {"Url": cloud.url + "/dicom-web/", "TokenEndpoint": tokens.url + "/token",
                              "ClientId": CLIENT_ID, "ClientSecretFile": str(secret_file), "Scope": SCOPE}}}
    onprem = orthanc_factory("onprem", **kwargs)
    wait_until(lambda: oauth(onprem)["token_valid"], 60, "first token")  # Orthanc, plugin and HTTPS: slow under load
    return cloud, onprem


def oauth(onprem):
    return onprem.get_json("/medimaging/oauth/status")["servers"]["cloud"]


def metric(text, name, **labels):
    """One Prometheus sample's value, or None when the series does not exist."""
    wanted = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        found = re.match(r"^([^{ ]+)(?:\{(.*)\})? (\S+)$", line)
        if found and found.group(1) == name and ",".join(sorted((found.group(2) or "").split(","))) == wanted:
            return float(found.group(3))
    return None


def metrics(onprem):
    return onprem.request("GET", "/medimaging/metrics").text


def drained_metrics(onprem):
    """The metrics text once the pending gauge says 0 (gauges come from statistics cached for 2 s)."""
    text = metrics(onprem)
    return text if metric(text, "medimaging_router_queue_depth", destination="cloud", state="pending") == 0 else None


def rows_of(pg, studies):
    """Queue rows (study_uid, destination, state, attempts, instances_sent, last_error) of these studies."""
    return [row for row in queue_rows(pg) if row[0] in studies]


def upload_rest(onprem, prefix, seed):
    """REST uploads; every one must be accepted. Returns {StudyInstanceUID: [SOPInstanceUID]}."""
    studies = {}
    for index in range(STUDIES_PER_BATCH):
        for blob in make_study(instances=INSTANCES, patient_id="%sR%d" % (prefix, index), seed=seed + index):
            ds = dcmread(io.BytesIO(blob), stop_before_pixels=True)
            assert onprem.upload(blob)["Status"] == "Success"
            studies.setdefault(ds.StudyInstanceUID, []).append(ds.SOPInstanceUID)
    return studies


def upload_cstore(onprem, prefix, seed):
    """C-STORE as a modality would (send() raises unless every status is Success)."""
    plans = [{"instances": INSTANCES, "patient_id": "%sC%d" % (prefix, index), "patient_name": "DRILL^C",
              "modality": "CT", "study_date": datetime.date(2024, 1, 1)} for index in range(STUDIES_PER_BATCH)]
    sent, instances, _size, _seconds = cstore(plans, "127.0.0.1", onprem.dicom_port, "ORTHANC",
                                              calling_aet="DRILLCT", seed=seed)
    assert instances == STUDIES_PER_BATCH * INSTANCES
    return {study["study_uid"]: study["sop_uids"] for study in sent}


def upload_batch(onprem, prefix, seed):
    studies = upload_rest(onprem, prefix, seed)
    studies.update(upload_cstore(onprem, prefix, seed + 50))
    return studies


def sops(studies):
    return sorted(sop for uids in studies.values() for sop in uids)


def test_token_outage_backlog_stays_queued_then_drains(pg_database, orthanc_factory, token_server, tmp_path):
    cloud, onprem = start_lab(pg_database, orthanc_factory, token_server, tmp_path)
    per_batch = 2 * STUDIES_PER_BATCH

    # 1. normal service: the first batch is routed with the token
    first = upload_batch(onprem, "TOKA", 0)
    wait_until(lambda: sop_uids(cloud) == sops(first), 60, "first batch routed")

    # 2. the token endpoint goes away; the last token serves until it expires, uploads go on
    token_server.stop()
    during = upload_batch(onprem, "TOKB", 100)
    wait_until(lambda: oauth(onprem)["state"] == "expired", TTL + 5, "the cached token expired")
    assert oauth(onprem)["last_error"].startswith("cannot reach")
    after = upload_batch(onprem, "TOKC", 200)  # no token can be had: these must wait
    down = {"destination": "cloud", "kind": "destination_down"}
    failures_before = metric(metrics(onprem), "medimaging_router_send_failures_total", **down) or 0
    wait_until(lambda: len(rows_of(pg_database, after)) == per_batch, 30, "the studies sent after expiry are queued")
    # several tries and seconds later (RetryMaxSeconds 2) they still wait: not dead-lettered, not in the cloud
    wait_until(lambda: (metric(metrics(onprem), "medimaging_router_send_failures_total", **down) or 0)
               >= failures_before + 3, 30, "the router kept trying")
    wait_until(lambda: router_status(onprem)["destinations"]["cloud"]["oldest_pending_seconds"] >= 5, 30,
               "the backlog waited 5 s")
    rows = rows_of(pg_database, after)
    assert len(rows) == per_batch and {r[2] for r in rows} <= {"pending", "inflight"}, rows
    assert all(r[4] == 0 for r in rows), rows  # nothing of them was sent
    assert not set(sops(after)) & set(sop_uids(cloud))
    status = router_status(onprem)["destinations"]["cloud"]
    assert status["dead"] == 0 and status["pending"] + status["inflight"] >= per_batch, status
    assert status["last_error"], status
    assert cloud.get_json("/guard/stats")["rejected"].get("expired", 0) >= 1  # the cloud refused the old token

    # 3. the token server is back (same port, same signing key): the backlog drains, nothing lost or doubled
    token_server.start()
    expected = sorted(sops(first) + sops(during) + sops(after))
    assert len(expected) == 3 * per_batch * INSTANCES == len(set(expected))
    assert sop_uids(onprem) == expected  # the local PACS accepted everything throughout
    wait_until(lambda: sop_uids(cloud) == expected, 60, "backlog drained into the cloud")
    rows = wait_until(lambda: (lambda rs: rs if rs and {r[2] for r in rs} == {"done"} else None)(
        queue_rows(pg_database)), 30, "every queue row done")
    assert len(rows) == 3 * per_batch and len({r[0] for r in rows}) == 3 * per_batch  # one row per study
    assert sum(r[4] for r in rows) == len(expected)  # each instance sent once
    assert oauth(onprem)["state"] == "ok" and oauth(onprem)["consecutive_failures"] == 0

    status = router_status(onprem)
    cloud_status = status["destinations"]["cloud"]
    assert (cloud_status["done"], cloud_status["pending"], cloud_status["inflight"], cloud_status["dead"]) == (
        3 * per_batch, 0, 0, 0), cloud_status
    assert cloud_status["reachable"] is True and status["dead_letters"] == []
    text = wait_until(lambda: drained_metrics(onprem), 10, "queue gauges caught up")
    labels = {"destination": "cloud"}
    assert metric(text, "medimaging_router_studies_sent_total", **labels) == 3 * per_batch
    assert metric(text, "medimaging_router_instances_sent_total", **labels) == len(expected)
    assert metric(text, "medimaging_router_bytes_sent_total", **labels) == cloud_status["bytes_sent"] > 0
    assert metric(text, "medimaging_router_dead_lettered_total", **labels) in (None, 0)  # never incremented
    assert metric(text, "medimaging_router_send_failures_total", kind="rejected", **labels) is None
    assert metric(text, "medimaging_router_send_failures_total", kind="error", **labels) is None
    assert metric(text, "medimaging_router_send_failures_total", kind="destination_down", **labels) >= 3
    assert metric(text, "medimaging_router_queue_depth", state="dead", **labels) == 0
    assert metric(text, "medimaging_router_enqueued_total", result="new", **labels) == 3 * per_batch
    assert token_server.stats()["rejected"] == 0  # the outage was the endpoint's absence, not a refusal
