"""The plugin's POST /medimaging/archive/restore with an OAuth bearer token instead of a SAS (127.0.0.1 only).

MedimagingArchive.TokenServer (client credentials) gets its Storage token from an Entra-like HTTPS endpoint;
Azurite (`--oauth basic`, HTTPS) checks the token's issuer, audience and lifetime. A study archived by the
orthanc_study_archive module (delete_local) comes back byte-identical with that token. Before that, a wrong
client secret, then an unreachable token endpoint, give a clear 502 and store nothing; a token for another
audience (the DICOM service's scope) is refused by the storage, also storing nothing. One token serves a whole
restore (cached); neither a token nor a secret shows in answers, status or Orthanc's log.
"""
import os
import secrets
import sys

import pytest
from archive_lab import StsTokenServer, load_studies, local_study_uids, md5, orthanc_params, run_module

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugin"))
from plugin_harness import PLUGIN_DIR, plugin_site_packages  # noqa: E402

CONTAINER = "tokenrestore"
ADMIN = ("admin", "archive-token-test-pw")
CLIENT_ID = "onprem-orthanc-archive"
DICOM_SCOPE = "https://dicom.healthcareapis.azure.com/.default"


@pytest.fixture
def sts(blob_lab):
    server = StsTokenServer(blob_lab.ca, CLIENT_ID, secrets.token_urlsafe(24))
    try:
        yield server.start()
    finally:
        server.stop()


def token_orthanc(orthanc_factory, blob_lab, sts, secret_file, name="pacs-token", **token_keys):
    entry = os.path.join(PLUGIN_DIR, "entrypoint.py")
    token_server = dict({"TokenEndpoint": sts.token_endpoint, "ClientId": CLIENT_ID,
                         "ClientSecretFile": str(secret_file)}, **token_keys)  # Scope: Storage's by default
    config = {"AuthenticationEnabled": True, "RegisteredUsers": {ADMIN[0]: ADMIN[1]},
              "Python": {"Path": entry}, "PythonScript": entry,
              "MedimagingArchive": {"ContainerUrl": "%s/%s" % (blob_lab.account_url, CONTAINER),
                                    "TokenServer": token_server, "CaBundle": blob_lab.ca.cert_path,
                                    "ApiVersion": "2025-11-05", "Concurrency": 4}}
    return orthanc_factory(name=name, config=config, plugins=["Python"], auth=ADMIN,
                           env={"PYTHONPATH": plugin_site_packages() or "", "PYTHONDONTWRITEBYTECODE": "1"})


def write_secret(path, value):
    path.write_text(value + "\n")
    path.chmod(0o600)


def restore(orthanc, uid):
    return orthanc.request("POST", "/medimaging/archive/restore", json={"StudyInstanceUID": uid})


def assert_refused_and_nothing_stored(orthanc, answer, *fragments):
    assert answer.status_code == 502, answer.text
    body = answer.json()
    assert body["result"] == "error" and (body["restored"], body["failed"]) == (0, 0), body
    for fragment in fragments:
        assert fragment in body["error"], body
    assert orthanc.get_json("/instances") == []
    return body


def test_restore_with_a_bearer_token_and_clear_refusals(orthanc_factory, blob_lab, sts, tmp_path):
    if not plugin_site_packages():
        pytest.fail("plugin venv missing: scripts/install-plugin-venv.sh")
    blob_lab.container(CONTAINER)
    secret_file = tmp_path / "archive-client-secret"
    wrong_secret = secrets.token_urlsafe(24)
    write_secret(secret_file, wrong_secret)  # a secret rotated on the IdP side but not yet here
    orthanc = token_orthanc(orthanc_factory, blob_lab, sts, secret_file)
    status = orthanc.get_json("/medimaging/archive/status")
    assert status["state"] == "running" and status["config"]["auth"] == "token", status
    assert status["config"]["token"]["provider"] == "client_credentials"
    assert status["config"]["token"]["scope"] == "https://storage.azure.com/.default"

    sent = load_studies(orthanc, [(900, "CT")], instances=5, rows=128, seed=900)
    (uid,) = sent
    archived = run_module(dict(orthanc_params(orthanc), **blob_lab.module_auth(CONTAINER), older_than_days=365,
                               delete_local=True), str(tmp_path))
    assert not archived.get("failed") and archived["counts"]["deleted_local"] == 5, archived
    assert local_study_uids(orthanc) == set()

    # 1: wrong client secret: the token endpoint says invalid_client, nothing is fetched or stored
    assert_refused_and_nothing_stored(orthanc, restore(orthanc, uid), "cannot get a storage token",
                                      "HTTP 401 invalid_client")
    assert sts.stats == {"issued": 0, "rejected": 1}

    # 2: right secret (the file is re-read) but the token endpoint is down: no token, nothing stored
    write_secret(secret_file, sts.client_secret)
    sts.stop()
    assert_refused_and_nothing_stored(orthanc, restore(orthanc, uid), "cannot get a storage token", "cannot reach")

    # 3: the endpoint is back (same port): byte-identical restore with one token for the whole study
    sts.start()
    answer = restore(orthanc, uid)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["restored"], body["already_present"], body["failed"]) == (5, 0, 0), body
    assert body["bytes"] == sum(size for _s, _m, size in sent[uid]["instances"].values())
    for sop, (_series, digest, _size) in sent[uid]["instances"].items():
        found = orthanc.request("POST", "/tools/lookup", data=sop).json()
        assert len(found) == 1, sop
        assert md5(orthanc.request("GET", "/instances/%s/file" % found[0]["ID"]).content) == digest
    assert sts.stats == {"issued": 1, "rejected": 1}  # manifest + 5 blobs, 4 threads: one cached token
    again = restore(orthanc, uid).json()
    assert (again["restored"], again["already_present"], again["failed"]) == (0, 5, 0), again
    assert sts.stats["issued"] == 1

    # 4: a valid token for another audience (the DICOM service): the storage refuses it, nothing stored
    wrong_audience = token_orthanc(orthanc_factory, blob_lab, sts, secret_file, name="pacs-wrong-aud",
                                   Scope=DICOM_SCOPE)
    refused = restore(wrong_audience, uid)
    assert_refused_and_nothing_stored(wrong_audience, refused, "HTTP 403")
    assert sts.stats["issued"] == 2

    # 5: metrics, and no token or secret anywhere
    metrics = orthanc.request("GET", "/medimaging/metrics").text
    assert 'medimaging_archive_restores_total{result="error"} 2.0' in metrics
    assert 'medimaging_archive_restores_total{result="ok"} 2.0' in metrics
    everything = "".join(
        [o.request("GET", "/medimaging/archive/status").text + o.log_text() for o in (orthanc, wrong_audience)]
        + [answer.text, refused.text])
    for secret in sts.issued + [sts.client_secret, wrong_secret, blob_lab.key]:
        assert secret not in everything
    assert "Bearer " not in everything
