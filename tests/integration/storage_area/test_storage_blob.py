"""Orthanc's attachments in Azurite through the plugin's storage area, with an OAuth token (no account key).

C-STORE from a modality -> blobs under the official plugins' flat names (<uuid>.dcm under RootPath) with the
Content-MD5 the service checked; nothing on Orthanc's disk; WADO-URI style reads (/instances/ID/file) come back
byte-identical before and after a restart; a blob renamed to the legacy layout is still read; delete removes the
blob. With the storage stopped, the C-STORE is refused and nothing is indexed. No token or secret in the log.
"""
import base64
import os

import pytest
from storage_lab import (ADMIN, attachment_uuid, c_store, disk_files, instance_by_sop, make_files, md5,
                         start_orthanc)

ROOT = "site-a/orthanc"
EXTENSIONS = {"dicom": ".dcm", "dicom-until-pixel-data": ".dcm.head"}  # orthanc-object-storage's names


@pytest.mark.orthanc_lines("1.10", "1.12")  # RegisterStorageArea on orthanc-python 4.0 and 5.0
def test_blob_store_read_restart_delete_and_layouts(orthanc_factory, storage_lab):
    container = storage_lab.container()
    section = storage_lab.blob_section(RootPath="/%s/" % ROOT)
    orthanc = start_orthanc(orthanc_factory, "pacs-blob", section)
    status = orthanc.get_json("/medimaging/storage/status")
    assert status["state"] == "running" and status["config"]["auth"] == "token", status
    assert "AccountKey" not in orthanc.config_path and storage_lab.blob.key not in open(orthanc.config_path).read()

    files = make_files(4, seed=1)
    sent = c_store(orthanc.dicom_port, files)
    assert [s for _sop, _md5, s in sent] == [0] * 4, sent
    assert disk_files(orthanc) == []  # nothing on local disk

    blobs = {b.name: b for b in container.list_blobs(name_starts_with=ROOT + "/")}
    ids = {}
    stored = {}  # Orthanc writes the file itself from the received dataset: its MD5 is the reference
    for sop, _sent_md5, _status in sent:
        ids[sop] = instance_by_sop(orthanc, sop)
        stored[sop] = digest = orthanc.request("GET", "/instances/%s/attachments/dicom/md5" % ids[sop]).text.strip()
        uuid = attachment_uuid(orthanc, ids[sop])
        name = "%s/%s.dcm" % (ROOT, uuid)  # the official plugins' flat name
        assert name in blobs, (name, sorted(blobs))
        assert bytes(blobs[name].content_settings.content_md5).hex() == digest
        assert md5(container.download_blob(name).readall()) == digest
        assert md5(orthanc.request("GET", "/instances/%s/file" % ids[sop]).content) == digest

    # every attachment (Orthanc 1.10 also keeps dicom-until-pixel-data) under its official flat name
    expected = set()
    for instance in ids.values():
        for kind in orthanc.get_json("/instances/%s/attachments" % instance):
            expected.add("%s/%s%s" % (ROOT, attachment_uuid(orthanc, instance, kind), EXTENSIONS[kind]))
    assert expected == set(blobs), (sorted(expected), sorted(blobs))
    before = orthanc.request("GET", "/medimaging/metrics").text
    assert 'medimaging_storage_operations_total{backend="azure_blob",operation="create",result="ok"} %d.0' \
        % len(expected) in before
    assert 'medimaging_storage_bytes_total{backend="azure_blob",operation="create"}' in before
    orthanc.restart()
    for sop, digest in stored.items():
        assert md5(orthanc.request("GET", "/instances/%s/file" % ids[sop]).content) == digest

    # An object placed under the legacy name (as the official plugin with StorageStructure legacy writes it)
    first_sop = sent[0][0]
    first_md5 = stored[first_sop]
    uuid = attachment_uuid(orthanc, ids[first_sop])
    data = container.download_blob("%s/%s.dcm" % (ROOT, uuid)).readall()
    legacy = "%s/%s/%s/%s" % (ROOT, uuid[:2], uuid[2:4], uuid)
    container.upload_blob(legacy, data)
    container.delete_blob("%s/%s.dcm" % (ROOT, uuid))
    assert md5(orthanc.request("GET", "/instances/%s/file" % ids[first_sop]).content) == first_md5

    # delete: the blobs go (both layouts)
    for instance in ids.values():
        assert orthanc.request("DELETE", "/instances/%s" % instance).status_code == 200
    assert [b.name for b in container.list_blobs(name_starts_with=ROOT + "/")] == []

    metrics = orthanc.request("GET", "/medimaging/metrics").text
    assert 'medimaging_storage_operations_total{backend="azure_blob",operation="read",result="ok"}' in metrics
    assert 'medimaging_storage_bytes_total{backend="azure_blob",operation="read"}' in metrics
    assert "medimaging_storage_latency_seconds_bucket" in metrics
    log = orthanc.log_text()
    for secret in storage_lab.sts.issued + [storage_lab.sts.client_secret, storage_lab.blob.key]:
        assert secret not in log and secret not in metrics


def test_failed_upload_is_refused_and_nothing_indexed(orthanc_factory, storage_lab):
    storage_lab.container()
    section = storage_lab.blob_section(MaxRetries=1, RetryBaseSeconds=0.05, HttpTimeoutSeconds=5)
    orthanc = start_orthanc(orthanc_factory, "pacs-blob-down", section)
    storage_lab.blob.azurite.stop()
    try:
        sent = c_store(orthanc.dicom_port, make_files(2, seed=2))
    finally:
        storage_lab.blob.azurite.restart()
    statuses = [s for _sop, _md5, s in sent]
    assert statuses and all(s not in (0, None) for s in statuses), sent  # a C-STORE failure status, not success
    assert orthanc.get_json("/instances") == []
    assert disk_files(orthanc) == []
    assert "storing attachment" in orthanc.log_text() and "Orthanc refuses it" in orthanc.log_text()
    # the storage is back: the same modality succeeds
    again = c_store(orthanc.dicom_port, make_files(1, seed=3))
    assert [s for _sop, _md5, s in again] == [0], again
    assert len(orthanc.get_json("/instances")) == 1


def test_connection_string_fallback_signs_with_shared_key(orthanc_factory, storage_lab, tmp_path):
    """The fallback: AccountName + AccountKey from a file; Azurite checks the Shared Key signature."""
    container = storage_lab.container()
    secret = tmp_path / "connection-string"
    secret.write_text("DefaultEndpointsProtocol=https;AccountName=%s;AccountKey=%s;\n"
                      % ("archivelab", storage_lab.blob.key))
    secret.chmod(0o600)
    section = storage_lab.blob_section(RootPath="shared-key")
    del section["TokenServer"]
    section["ConnectionStringFile"] = str(secret)
    orthanc = start_orthanc(orthanc_factory, "pacs-shared-key", section)
    answer = orthanc.upload(make_files(1, seed=5)[0])
    instance = answer["ID"]
    uuid = attachment_uuid(orthanc, instance)
    data = container.download_blob("shared-key/%s.dcm" % uuid).readall()
    assert md5(orthanc.request("GET", "/instances/%s/file" % instance).content) == md5(data)
    assert orthanc.get_json("/medimaging/storage/status")["config"]["secret_source"] == "file %s" % secret
    assert storage_lab.blob.key not in orthanc.log_text()
    # a wrong key: the storage refuses the signature (Azure 403 AuthenticationFailed; Azurite answers 400
    # InvalidAuthenticationInfo), Orthanc refuses the instance
    secret.write_text("AccountName=archivelab;AccountKey=%s\n" % base64.b64encode(b"0" * 32).decode())
    refused = orthanc.request("POST", "/instances", data=make_files(1, seed=6)[0])
    assert refused.status_code >= 400 and len(orthanc.get_json("/instances")) == 1
    assert "failed, Orthanc refuses it" in orthanc.log_text()


def test_a_plugin_that_fails_to_load_refuses_instead_of_writing_to_disk(orthanc_factory, storage_lab, tmp_path):
    """entrypoint.py's last line of defence: the plugin's package breaks at import (here: a copy with a broken
    module); with MedimagingStorage configured, Orthanc refuses attachments rather than keep them on local disk."""
    import shutil
    from storage_lab import ENTRY, orthanc_config
    copy = tmp_path / "broken-plugin"
    shutil.copytree(os.path.dirname(ENTRY), copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "medimaging_plugin" / "orthanc_adapter.py", "a", encoding="utf-8") as handle:
        handle.write("\nraise RuntimeError('broken on purpose')\n")
    config = orthanc_config(storage_lab.blob_section())
    config["Python"] = {"Path": str(copy / "entrypoint.py")}
    config["PythonScript"] = str(copy / "entrypoint.py")
    orthanc = orthanc_factory(name="pacs-broken", config=config, plugins=["Python"], auth=ADMIN,
                              env={"PYTHONDONTWRITEBYTECODE": "1"})
    refused = orthanc.request("POST", "/instances", data=make_files(1, seed=8)[0])
    assert refused.status_code >= 400 and orthanc.get_json("/instances") == []
    assert disk_files(orthanc) == []
    log = orthanc.log_text()
    assert "broken on purpose" in log and "MedimagingStorage refuses every attachment" in log
