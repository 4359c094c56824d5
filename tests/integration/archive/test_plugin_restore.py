"""The plugin's POST /medimaging/archive/restore against Azurite over HTTPS (127.0.0.1 only).

Two studies are archived by the orthanc_study_archive module (delete_local: the local copies go), then the
plugin restores them from the manifests with a read-only container SAS: the clean study comes back
byte-identical (same MD5 as the files first sent); a blob altered in the container is refused and never
stored; a second restore is a no-op; neither the SAS nor the account key shows in answers or Orthanc's log.
"""
import datetime
import os
import sys

import pytest
from archive_lab import ACCOUNT, load_studies, local_study_uids, md5, orthanc_params, run_module
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugin"))
from plugin_harness import PLUGIN_DIR, plugin_site_packages  # noqa: E402

CONTAINER = "pluginrestore"
ADMIN = ("admin", "archive-plugin-test-pw")


def plugin_orthanc(orthanc_factory, blob_lab, sas_file):
    entry = os.path.join(PLUGIN_DIR, "entrypoint.py")
    config = {"AuthenticationEnabled": True, "RegisteredUsers": {ADMIN[0]: ADMIN[1]},
              "Python": {"Path": entry}, "PythonScript": entry,
              "MedimagingArchive": {"ContainerUrl": "%s/%s" % (blob_lab.account_url, CONTAINER),
                                    "SasTokenFile": sas_file, "CaBundle": blob_lab.ca.cert_path,
                                    "ApiVersion": "2025-11-05", "Concurrency": 4}}
    return orthanc_factory(name="pacs-plugin", config=config, plugins=["Python"], auth=ADMIN,
                           env={"PYTHONPATH": plugin_site_packages() or "", "PYTHONDONTWRITEBYTECODE": "1"})


@pytest.mark.orthanc_lines("1.10", "1.12")
def test_plugin_restores_byte_identical_and_refuses_a_tampered_blob(orthanc_factory, blob_lab, tmp_path):
    if not plugin_site_packages():
        pytest.fail("plugin venv missing: scripts/install-plugin-venv.sh")
    container = blob_lab.container(CONTAINER)
    sas = generate_container_sas(ACCOUNT, CONTAINER, account_key=blob_lab.key,
                                 permission=ContainerSasPermissions(read=True),
                                 expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    sas_file = tmp_path / "archive.sas"
    sas_file.write_text(sas + "\n")
    sas_file.chmod(0o600)
    orthanc = plugin_orthanc(orthanc_factory, blob_lab, str(sas_file))
    status = orthanc.get_json("/medimaging/archive/status")
    assert status["state"] == "running", status

    sent = load_studies(orthanc, [(900, "CT"), (800, "MR")], instances=5, rows=128, seed=700)
    clean, tampered_study = sorted(sent, key=lambda uid: sent[uid]["date"])
    archived = run_module(dict(orthanc_params(orthanc), **blob_lab.module_auth(CONTAINER), older_than_days=365,
                               delete_local=True), str(tmp_path))
    assert not archived.get("failed") and archived["counts"]["deleted_local"] == 10, archived
    assert local_study_uids(orthanc) == set()

    # 1: the clean study comes back byte-identical
    answer = orthanc.request("POST", "/medimaging/archive/restore", json={"StudyInstanceUID": clean})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["restored"], body["already_present"], body["failed"]) == (5, 0, 0), body
    assert body["bytes"] == sum(size for _s, _m, size in sent[clean]["instances"].values())
    for sop, (_series, digest, _size) in sent[clean]["instances"].items():
        found = orthanc.request("POST", "/tools/lookup", data=sop).json()
        assert len(found) == 1, sop
        assert md5(orthanc.request("GET", "/instances/%s/file" % found[0]["ID"]).content) == digest

    # 2: again: nothing to do
    again = orthanc.request("POST", "/medimaging/archive/restore", json={"StudyInstanceUID": clean}).json()
    assert (again["restored"], again["already_present"], again["failed"]) == (0, 5, 0), again

    # 3: one blob altered in the container (a valid upload, so Azure's own Content-MD5 matches the new bytes)
    victim_sop = sorted(sent[tampered_study]["instances"])[0]
    victim_series = sent[tampered_study]["instances"][victim_sop][0]
    victim = "%s/%s/%s.dcm" % (tampered_study, victim_series, victim_sop)
    data = bytearray(container.download_blob(victim).readall())
    data[-1] ^= 0xFF
    container.upload_blob(victim, bytes(data), overwrite=True)
    refused = orthanc.request("POST", "/medimaging/archive/restore", json={"StudyInstanceUID": tampered_study})
    assert refused.status_code == 502, refused.text
    body = refused.json()
    assert (body["restored"], body["failed"]) == (4, 1), body
    assert body["errors"][0]["blob"] == victim and "refused" in body["errors"][0]["error"]
    assert orthanc.request("POST", "/tools/lookup", data=victim_sop).json() == []
    for sop, (_series, digest, _size) in sent[tampered_study]["instances"].items():
        if sop != victim_sop:
            found = orthanc.request("POST", "/tools/lookup", data=sop).json()
            assert md5(orthanc.request("GET", "/instances/%s/file" % found[0]["ID"]).content) == digest

    # 4: bad input, metrics, and no secret anywhere
    bad = orthanc.request("POST", "/medimaging/archive/restore", json={"StudyInstanceUID": "1.2/../x"})
    assert bad.status_code == 400
    metrics = orthanc.request("GET", "/medimaging/metrics").text
    assert 'medimaging_archive_restores_total{result="ok"} 2.0' in metrics
    assert 'medimaging_archive_restores_total{result="partial"} 1.0' in metrics
    assert "medimaging_archive_restored_bytes_total" in metrics
    signature = [p for p in sas.split("&") if p.startswith("sig=")][0][4:]
    everything = (refused.text + answer.text + orthanc.request("GET", "/medimaging/archive/status").text
                  + orthanc.log_text())
    assert signature not in everything and blob_lab.key not in everything
    assert "archive: study %s restore partial: 4 restored" % tampered_study in orthanc.log_text()  # warning level
