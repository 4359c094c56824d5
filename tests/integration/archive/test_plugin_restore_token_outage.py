"""Archive restore during a token endpoint outage: a cached Storage token that is still valid must be used.

DicomWebOAuth keeps serving with the last token until it truly expires when a refresh fails (README, "How it
works"); MedimagingArchive's bearer credential renews its token 2 minutes before expiry, or at half its lifetime
for short-lived tokens. This drill takes the token endpoint down once the cached token is due for renewal but still
valid (proved by reading the manifest from Azurite with it directly): the restore must still succeed with it. Then
the endpoint comes back and, once the credential's retry pause is over, restores go on with a new token.
"""
import os
import secrets
import sys
import time

import jwt
import pytest
import requests
from archive_lab import API_VERSION, StsTokenServer, load_studies, md5, orthanc_params, run_module

RETRY_SECONDS = 10.0  # BearerCredential.RETRY_SECONDS in the plugin: no new attempt sooner after a failure

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugin"))
from plugin_harness import PLUGIN_DIR, plugin_site_packages  # noqa: E402

CONTAINER = "tokenoutage"
ADMIN = ("admin", "archive-token-outage-pw")
CLIENT_ID = "onprem-orthanc-archive"
TTL = 60  # seconds: renewal is due after 30 s (half the lifetime); the token is used until 10 s before expiry,
# which leaves the outage ~17 s between "renewal due" and "too close to expiry" on a loaded machine (30 s left 3 s)


@pytest.fixture
def sts(blob_lab):
    server = StsTokenServer(blob_lab.ca, CLIENT_ID, secrets.token_urlsafe(24), ttl=TTL)
    try:
        yield server.start()
    finally:
        server.stop()


def token_orthanc(orthanc_factory, blob_lab, sts, secret_file):
    entry = os.path.join(PLUGIN_DIR, "entrypoint.py")
    config = {"AuthenticationEnabled": True, "RegisteredUsers": {ADMIN[0]: ADMIN[1]},
              "Python": {"Path": entry}, "PythonScript": entry,
              "MedimagingArchive": {"ContainerUrl": "%s/%s" % (blob_lab.account_url, CONTAINER),
                                    "TokenServer": {"TokenEndpoint": sts.token_endpoint, "ClientId": CLIENT_ID,
                                                    "ClientSecretFile": str(secret_file)},
                                    "CaBundle": blob_lab.ca.cert_path, "ApiVersion": API_VERSION}}
    return orthanc_factory(name="pacs-token-outage", config=config, plugins=["Python"], auth=ADMIN,
                           env={"PYTHONPATH": plugin_site_packages() or "", "PYTHONDONTWRITEBYTECODE": "1"})


def restore(orthanc, uid):
    return orthanc.request("POST", "/medimaging/archive/restore", json={"StudyInstanceUID": uid})


def assert_restored(orthanc, answer, study):
    assert answer.status_code == 200, answer.text
    assert answer.json()["restored"] == len(study["instances"]), answer.text
    for sop, (_series, digest, _size) in study["instances"].items():
        found = orthanc.request("POST", "/tools/lookup", data=sop).json()
        assert md5(orthanc.request("GET", "/instances/%s/file" % found[0]["ID"]).content) == digest


def test_restore_uses_the_cached_token_while_the_token_endpoint_is_down(orthanc_factory, blob_lab, sts, tmp_path):
    if not plugin_site_packages():
        pytest.fail("plugin venv missing: scripts/install-plugin-venv.sh")
    blob_lab.container(CONTAINER)
    secret_file = tmp_path / "archive-client-secret"
    secret_file.write_text(sts.client_secret + "\n")
    secret_file.chmod(0o600)
    orthanc = token_orthanc(orthanc_factory, blob_lab, sts, secret_file)
    sent = load_studies(orthanc, [(900, "CT"), (800, "MR"), (700, "CR")], instances=3, rows=64, seed=950)
    first, during, after = sorted(sent, key=lambda uid: sent[uid]["date"])
    archived = run_module(dict(orthanc_params(orthanc), **blob_lab.module_auth(CONTAINER), older_than_days=365,
                               delete_local=True), str(tmp_path))
    assert not archived.get("failed") and archived["counts"]["deleted_local"] == 9, archived

    assert_restored(orthanc, restore(orthanc, first), sent[first])
    assert sts.stats["issued"] == 1
    cached = sts.issued[-1]
    # Counted from the token's issue time, not from the end of the first restore (which took seconds under load):
    # renewal is now due (3 s past half the lifetime) and the cached token is good for ~17 s more.
    issued_at = jwt.decode(cached, options={"verify_signature": False})["iat"]
    time.sleep(max(0.0, issued_at + TTL / 2 + 3 - time.time()))
    sts.stop()
    direct = requests.get("%s/%s/%s/manifest.json" % (blob_lab.account_url, CONTAINER, during), timeout=10,
                          headers={"Authorization": "Bearer " + cached, "x-ms-version": API_VERSION},
                          verify=blob_lab.ca.cert_path)
    assert direct.status_code == 200, direct.text  # the storage still accepts the cached token

    # the token endpoint is down, the cached token is valid: the restore must not fail for want of a token
    assert_restored(orthanc, restore(orthanc, during), sent[during])

    sts.start()  # back on the same port: after the credential's retry pause, a new token, restores go on
    time.sleep(RETRY_SECONDS)
    assert_restored(orthanc, restore(orthanc, after), sent[after])
    assert sts.stats["issued"] == 2
