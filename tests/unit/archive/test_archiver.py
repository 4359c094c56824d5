"""StudyArchiver against in-memory Orthanc and container: copy, skip, verify-before-delete, resume, restore."""
import datetime
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from archive_fakes import FakeArchive, FakeOrthanc, md5

from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_engine import StudyArchiver
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_manifest import ArchiveError, build_manifest

TODAY = datetime.date(2025, 6, 1)


@pytest.fixture(scope="module")
def executors():
    """The caller owns the engine's executor: one of 1 and one of 2 workers, shared by the tests here."""
    with ThreadPoolExecutor(max_workers=1) as serial, ThreadPoolExecutor(max_workers=2) as pair:
        yield {1: serial, 2: pair}


@pytest.fixture
def make_archiver(executors):
    def make(orthanc, archive, concurrency=2, **kwargs):
        return StudyArchiver(orthanc, archive, executors[concurrency], **kwargs)
    return make


@pytest.fixture
def world():
    orthanc, archive = FakeOrthanc(), FakeArchive()
    orthanc.add("old", "1.2.1", "20200101", [b"a" * 10, b"b" * 20, b"c" * 30])
    orthanc.add("mid", "1.2.2", "20240101", [b"d" * 5])
    orthanc.add("new", "1.2.3", "20250520", [b"e" * 5])
    return orthanc, archive


def _run(make, orthanc, archive, **kwargs):
    archiver = make(orthanc, archive, **kwargs)
    return [archiver.archive_study(s) for s in archiver.select(older_than_days=365, today=TODAY)]


def test_selects_by_age_oldest_first(world, make_archiver):
    archiver = make_archiver(*world)
    assert [s["StudyInstanceUID"] for s in archiver.select(older_than_days=365, today=TODAY)] == ["1.2.1", "1.2.2"]
    assert [s["StudyInstanceUID"] for s in archiver.select(older_than_days=1, today=TODAY, limit=1)] == ["1.2.1"]


def test_check_mode_writes_nothing_and_reports_bytes(world, make_archiver):
    orthanc, archive = world
    results = _run(make_archiver, orthanc, archive, check_mode=True, delete_local=True)
    assert archive.blobs == {} and orthanc.deleted == []
    assert [(r["uploaded"], r["bytes_uploaded"], r["deleted_local"]) for r in results] == [(3, 60, 3), (1, 5, 1)]


def test_archive_copies_with_md5_and_manifest_then_second_run_uploads_nothing(world, make_archiver):
    orthanc, archive = world
    results = _run(make_archiver, orthanc, archive)
    assert all(r["verified"] for r in results) and orthanc.deleted == []
    assert archive.blobs["1.2.1/1.2.9/1.2.1.1.dcm"] == (b"b" * 20, md5(b"b" * 20))
    manifest = json.loads(archive.blobs["1.2.1/manifest.json"][0])
    assert manifest["instance_count"] == 3 and manifest["total_bytes"] == 60
    archive.uploads.clear()
    again = _run(make_archiver, orthanc, archive)
    assert archive.uploads == []  # blobs and manifests unchanged: nothing written
    assert [r["skipped"] for r in again] == [3, 1]


def test_delete_only_after_verification(world, make_archiver):
    orthanc, archive = world
    results = _run(make_archiver, orthanc, archive, delete_local=True)
    assert sorted(orthanc.deleted) == ["mid-0", "old-0", "old-1", "old-2"]
    assert [r["deleted_local"] for r in results] == [3, 1]


def test_corrupted_copy_is_never_followed_by_delete(world, make_archiver):
    orthanc, archive = world
    original = archive.upload

    def flipping_upload(name, data, md5_hex, content_type="application/dicom"):
        original(name, data, md5_hex, content_type)
        if name.endswith("1.2.1.1.dcm"):  # the service stored other bytes/MD5 than sent
            archive.blobs[name] = (data, "0" * 32)

    archive.upload = flipping_upload
    archiver = make_archiver(orthanc, archive, delete_local=True)
    with pytest.raises(ArchiveError, match="failed verification, nothing deleted"):
        archiver.archive_study({"ID": "old", "StudyInstanceUID": "1.2.1", "StudyDate": "20200101"})
    assert orthanc.deleted == [] and "1.2.1/manifest.json" not in archive.blobs


def test_local_bytes_differing_from_recorded_md5_are_not_archived(world, make_archiver):
    orthanc, archive = world
    orthanc.corrupt.add("old-1")
    archiver = make_archiver(orthanc, archive, delete_local=True)
    with pytest.raises(ArchiveError, match="local storage corrupted"):
        archiver.archive_study({"ID": "old", "StudyInstanceUID": "1.2.1", "StudyDate": "20200101"})
    assert orthanc.deleted == []


def test_interrupted_run_resumes_without_reuploading(world, make_archiver):
    orthanc, archive = world
    archive.fail_after = 2
    archiver = make_archiver(orthanc, archive, concurrency=1, delete_local=True)
    study = {"ID": "old", "StudyInstanceUID": "1.2.1", "StudyDate": "20200101"}
    with pytest.raises(RuntimeError):
        archiver.archive_study(study)
    assert orthanc.deleted == [] and len(archive.uploads) == 2
    archive.fail_after = None
    result = archiver.archive_study(study)
    assert (result["skipped"], result["uploaded"], result["deleted_local"]) == (2, 1, 3)


def test_unexpected_extra_blob_blocks_delete(world, make_archiver):
    orthanc, archive = world
    archive.blobs["1.2.1/1.2.9/9.9.dcm"] = (b"zz", md5(b"zz"))
    archiver = make_archiver(orthanc, archive, delete_local=True)
    with pytest.raises(ArchiveError, match="4 .dcm blobs under 1.2.1/ but 3 expected"):
        archiver.archive_study({"ID": "old", "StudyInstanceUID": "1.2.1", "StudyDate": "20200101"})
    assert orthanc.deleted == []


def test_cloud_check_keeps_study_local_when_absent(world, make_archiver):
    orthanc, archive = world
    orthanc.post_json = lambda path, body: []  # QIDO finds nothing
    archiver = make_archiver(orthanc, archive, delete_local=True, cloud_server="cloud")
    result = archiver.archive_study({"ID": "mid", "StudyInstanceUID": "1.2.2", "StudyDate": "20240101"})
    assert result["verified"] and result["cloud_verified"] is False and result["deleted_local"] == 0
    assert orthanc.deleted == []


def test_restore_checks_manifest_md5_before_upload(make_archiver):
    archive = FakeArchive()
    entry = {"SeriesInstanceUID": "1.3", "SOPInstanceUID": "1.3.1", "blob": "1.2/1.3/1.3.1.dcm", "size": 3,
             "md5": md5(b"abc")}
    archive.write_manifest(build_manifest({"StudyInstanceUID": "1.2", "StudyDate": "20200101"}, [entry]))
    archive.blobs["1.2/1.3/1.3.1.dcm"] = (b"abX", md5(b"abc"))  # bytes rotted in the archive
    archiver = make_archiver(orthanc=None, archive=archive)
    archiver._local_md5_by_sop = lambda uid: {}
    with pytest.raises(ArchiveError, match="the manifest records"):
        archiver.restore_study("1.2")


def test_restore_without_manifest_says_not_archived(make_archiver):
    archiver = make_archiver(orthanc=None, archive=FakeArchive())
    with pytest.raises(ArchiveError, match="not archived there"):
        archiver.restore_study("1.2")


def test_run_isolates_a_failing_study(world, make_archiver):
    orthanc, archive = world
    orthanc.corrupt.add("old-0")
    archiver = make_archiver(orthanc, archive, delete_local=True)
    results, failures = archiver.run(archiver.archive_study, archiver.select(older_than_days=365, today=TODAY))
    assert [r["StudyInstanceUID"] for r in results] == ["1.2.2"] and results[0]["deleted_local"] == 1
    assert failures[0]["StudyInstanceUID"] == "1.2.1" and "corrupted" in failures[0]["error"]
    assert orthanc.deleted == ["mid-0"]


OLD = {"ID": "old", "StudyInstanceUID": "1.2.1", "StudyDate": "20200101"}
DATA = "/attachments/dicom/data"


def test_first_copy_reads_each_instance_once_with_its_recorded_md5(world, make_archiver):
    orthanc, archive = world
    make_archiver(orthanc, archive).archive_study(OLD)
    # One request per instance: the data route's ETag carries the recorded MD5, no separate /md5 call.
    assert sorted(orthanc.calls) == [("GET", "/instances/old-%d%s" % (n, DATA)) for n in range(3)]
    assert archive.blobs["1.2.1/1.2.9/1.2.1.2.dcm"] == (b"c" * 30, md5(b"c" * 30))


def test_resume_asks_only_the_recorded_md5_and_reads_nothing(world, make_archiver):
    orthanc, archive = world
    make_archiver(orthanc, archive).archive_study(OLD)
    orthanc.calls.clear()
    result = make_archiver(orthanc, archive).archive_study(OLD)
    assert sorted(orthanc.calls) == [("GET", "/instances/old-%d/attachments/dicom/md5" % n) for n in range(3)]
    assert (result["skipped"], result["uploaded"]) == (3, 0)


def test_without_md5_in_etag_the_md5_route_is_asked_and_corruption_still_caught(world, make_archiver):
    orthanc, archive = world
    orthanc.etag_md5 = False  # Orthanc older than 1.9.2
    result = make_archiver(orthanc, archive).archive_study({"ID": "mid", "StudyInstanceUID": "1.2.2"})
    assert orthanc.calls == [("GET", "/instances/mid-0" + DATA), ("GET", "/instances/mid-0/attachments/dicom/md5")]
    assert result["verified"] and archive.blobs["1.2.2/1.2.9/1.2.2.0.dcm"] == (b"d" * 5, md5(b"d" * 5))
    orthanc.corrupt.add("old-2")
    with pytest.raises(ArchiveError, match="MD5 %s but recorded %s" % (md5(b"c" * 30 + b"x"), md5(b"c" * 30))):
        make_archiver(orthanc, archive, delete_local=True).archive_study(OLD)
    assert orthanc.deleted == [] and "1.2.1/1.2.9/1.2.1.2.dcm" not in archive.blobs


def test_corrupted_local_bytes_are_refused_by_the_content_md5_check_and_named(world, make_archiver):
    orthanc, archive = world
    orthanc.corrupt.add("old-0")
    with pytest.raises(ArchiveError, match="instance 1.2.1.0: Orthanc returned bytes with MD5 %s but recorded %s"
                       % (md5(b"a" * 10 + b"x"), md5(b"a" * 10))):
        make_archiver(orthanc, archive, concurrency=1, delete_local=True).archive_study(OLD)
    assert "1.2.1/1.2.9/1.2.1.0.dcm" not in archive.blobs and orthanc.deleted == []


def test_manifest_is_read_only_when_the_listing_shows_one(world, make_archiver):
    orthanc, archive = world
    reads = []
    original = archive.read_manifest
    archive.read_manifest = lambda uid: reads.append(uid) or original(uid)
    make_archiver(orthanc, archive).archive_study(OLD)
    assert reads == []  # first archive: no manifest listed, none fetched
    orthanc.add("old", "1.2.1", "20200101", [b"a" * 10, b"b" * 20, b"c" * 30, b"f" * 7])  # a late instance
    make_archiver(orthanc, archive).archive_study(OLD)
    manifest = json.loads(archive.blobs["1.2.1/manifest.json"][0])
    assert reads == ["1.2.1"] and manifest["instance_count"] == 4


def test_cloud_check_is_per_instance_and_pages_the_answer(world, make_archiver):
    """The study counts as in the cloud only when every SOPInstanceUID is listed (a refused instance keeps it
    local); QIDO is paged as Azure answers at most 200 instances per query."""
    orthanc, archive = world
    queries = []

    def qido(path, body):
        queries.append(body["Arguments"]["offset"])
        listed = ["1.2.1.0", "1.2.1.2"] if body["Arguments"]["offset"] == "0" else []
        return [{"00080018": {"vr": "UI", "Value": [uid]}} for uid in listed]
    orthanc.post_json = qido
    archiver = make_archiver(orthanc, archive, delete_local=True, cloud_server="cloud")
    found, message = archiver.check_cloud("1.2.1", ["1.2.1.0", "1.2.1.1", "1.2.1.2"], page=2)
    assert (found, queries) == (False, ["0", "2"]) and "lacks 1 of 3 instances (e.g. 1.2.1.1" in message
    assert archiver.check_cloud("1.2.1", ["1.2.1.0", "1.2.1.2"], page=5) == (True, "found in the cloud DICOM service")


def test_a_tampered_previous_manifest_fails_the_study_and_nothing_is_deleted(world, make_archiver):
    """Re-archiving reads the study's manifest through the same checks as a restore: an entry that points outside
    the study fails the study before its manifest is merged, verified or rewritten."""
    orthanc, archive = world
    make_archiver(orthanc, archive).archive_study(OLD)
    manifest = json.loads(archive.blobs["1.2.1/manifest.json"][0])
    manifest["instances"][0]["blob"] = "1.2.2/1.2.9/1.2.2.0.dcm"
    data = json.dumps(manifest).encode()
    archive.blobs["1.2.1/manifest.json"] = (data, md5(data))
    with pytest.raises(ArchiveError, match="instance #0: blob '1.2.2/1.2.9/1.2.2.0.dcm' is not 1.2.1/"):
        make_archiver(orthanc, archive, delete_local=True).archive_study(OLD)
    assert orthanc.deleted == [] and archive.blobs["1.2.1/manifest.json"][0] == data
