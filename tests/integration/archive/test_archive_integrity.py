"""The engine hashes nothing itself when Orthanc recorded an MD5 and the blob goes in one Put Blob: it sends that MD5
as Content-MD5 and the service checks the bytes. This proves, against a real Orthanc and Azurite, that a file damaged
in Orthanc's storage is then refused and reported as local corruption (no blob, no manifest, nothing deleted), and
that the same holds for blobs sent in blocks (above 64 MiB), where the whole MD5 is checked before sending.
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from archive_lab import (ACCOUNT, API_VERSION, COLLECTIONS, blobs_of, load_studies, local_study_uids, orthanc_params,
                         run_module)
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import ContainerClient

if COLLECTIONS not in sys.path:  # the engine in-process, as the module runs it
    sys.path.insert(0, COLLECTIONS)
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_blob import BlobArchive  # noqa: E402
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_engine import StudyArchiver  # noqa: E402
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_rest import OrthancClient  # noqa: E402


def damage_one_file(orthanc, study_id=None):
    """Flip the last byte (pixel data) of one stored instance, in place: same size, MD5 in the index unchanged."""
    ids = orthanc.get_json("/studies/%s/instances" % study_id) if study_id else orthanc.get_json("/instances")
    instance = orthanc.get_json("/instances/%s" % (ids[0]["ID"] if study_id else ids[0]))
    uuid = instance["FileUuid"]
    path = os.path.join(orthanc.config["StorageDirectory"], uuid[0:2], uuid[2:4], uuid)
    with open(path, "r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 0xFF]))
    return instance["MainDicomTags"]["SOPInstanceUID"]


def test_damaged_local_file_is_refused_by_content_md5_and_nothing_is_deleted(pacs, blob_lab, tmp_path):
    orthanc = pacs()
    sent = load_studies(orthanc, [(900, "CT")], instances=3, seed=300)
    (uid,) = sent
    damaged = damage_one_file(orthanc)
    container = blob_lab.container("damaged")
    args = dict(orthanc_params(orthanc), **blob_lab.module_auth("damaged"), older_than_days=365, delete_local=True)
    result = run_module(args, str(tmp_path))
    assert result.get("failed") is True and len(result["failures"]) == 1, result
    assert result["failures"][0]["StudyInstanceUID"] == uid
    assert "instance %s: Orthanc returned bytes with MD5" % damaged in result["failures"][0]["error"]
    assert "local storage corrupted" in result["failures"][0]["error"]
    blobs = blobs_of(container)
    assert not any(name.endswith(damaged + ".dcm") for name in blobs) and uid + "/manifest.json" not in blobs
    assert local_study_uids(orthanc) == {uid} and len(orthanc.get_json("/instances")) == 3


def block_container(blob_lab, name, block):
    """A client that sends anything above `block` bytes in blocks of `block` (as the SDK does above 64 MiB)."""
    client = ContainerClient(blob_lab.account_url, name, credential=AzureNamedKeyCredential(ACCOUNT, blob_lab.key),
                             api_version=API_VERSION, connection_verify=blob_lab.ca.cert_path,
                             max_single_put_size=block, max_block_size=block)
    client.create_container()
    return client


def test_instances_sent_in_blocks_are_verified_and_a_damaged_one_refused(pacs, blob_lab, monkeypatch):
    monkeypatch.setattr(BlobArchive, "SINGLE_PUT_LIMIT", 4096)
    orthanc = pacs()
    sent = load_studies(orthanc, [(900, "CT"), (800, "MR")], instances=3, rows=64, seed=310)  # ~9 KB: 3 blocks
    client = OrthancClient(orthanc.url, *orthanc.auth)
    container = block_container(blob_lab, "blocks", 4096)
    with ThreadPoolExecutor(max_workers=4) as executor:
        archiver = StudyArchiver(client, BlobArchive(container), executor, delete_local=True)
        studies = archiver.select(older_than_days=365)
        first, second = sorted(studies, key=lambda s: s["StudyInstanceUID"])
        damaged = damage_one_file(orthanc, first["ID"])
        results, failures = archiver.run(archiver.archive_study, [first, second])
    assert [f["StudyInstanceUID"] for f in failures] == [first["StudyInstanceUID"]]
    assert "instance %s: Orthanc returned bytes with MD5" % damaged in failures[0]["error"]
    assert [(r["StudyInstanceUID"], r["verified"], r["deleted_local"]) for r in results] == [
        (second["StudyInstanceUID"], True, 3)]
    blobs = blobs_of(container)
    for sop, (series, digest, _size) in sent[second["StudyInstanceUID"]]["instances"].items():
        assert blobs["%s/%s/%s.dcm" % (second["StudyInstanceUID"], series, sop)][1] == digest
    assert not any(name.endswith(damaged + ".dcm") for name in blobs)
    assert local_study_uids(orthanc) == {first["StudyInstanceUID"]}
