"""The migration job: a filesystem storage moves into the bucket (resumable, verified, sources deleted only after
verification) and back to disk, while Orthanc serves every instance throughout (hybrid mode).

Orthanc first runs without the plugin (its own filesystem storage); then the same index and folder with
MedimagingStorage on moto's S3 in HybridMode WriteToObjectStorage.
"""
import time

from storage_lab import BUCKET, attachment_uuid, disk_files, make_files, md5, start_orthanc

ROOT = "migrated"


def wait_done(orthanc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = orthanc.get_json("/medimaging/storage/migrate")
        if progress["state"] != "running":
            return progress
        time.sleep(0.1)
    raise AssertionError("migration still running: %s" % progress)


def migrate(orthanc, direction, delete_source):
    answer = orthanc.request("POST", "/medimaging/storage/migrate",
                             json={"Direction": direction, "DeleteSource": delete_source})
    assert answer.status_code == 202, answer.text
    return wait_done(orthanc)


def all_files_match(orthanc, expected):
    for instance, digest in expected.items():
        answer = orthanc.request("GET", "/instances/%s/file" % instance)
        assert answer.status_code == 200 and md5(answer.content) == digest, instance


def bucket_keys(s3):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=ROOT + "/").get("Contents", []))


def test_filesystem_to_bucket_and_back(orthanc_factory, storage_lab):
    s3 = storage_lab.s3()
    plain = start_orthanc(orthanc_factory, "pacs-plain")
    for data in make_files(6, seed=40):
        plain.upload(data)
    expected = {i: md5(plain.request("GET", "/instances/%s/file" % i).content) for i in plain.get_json("/instances")}
    folders = {"StorageDirectory": plain.config["StorageDirectory"], "IndexDirectory": plain.config["IndexDirectory"]}
    plain.stop()
    before = len(disk_files(plain))
    assert before >= 6

    section = storage_lab.s3_section(RootPath=ROOT, HybridMode="WriteToObjectStorage", KmsKeyId=None)
    orthanc = start_orthanc(orthanc_factory, "pacs-hybrid", section, env=storage_lab.s3_env(), **folders)
    all_files_match(orthanc, expected)  # hybrid: old files are read from disk
    assert bucket_keys(s3) == []

    # a previous, interrupted run had copied one attachment: the next run skips it (resumable)
    first = next(iter(expected))
    uuid = attachment_uuid(orthanc, first)
    with open("%s/%s/%s/%s" % (folders["StorageDirectory"], uuid[:2], uuid[2:4], uuid), "rb") as handle:
        s3.put_object(Bucket=BUCKET, Key="%s/%s.dcm" % (ROOT, uuid), Body=handle.read())
    # one file on disk is corrupt: never copied, never deleted
    victim = attachment_uuid(orthanc, list(expected)[1])
    victim_path = "%s/%s/%s/%s" % (folders["StorageDirectory"], victim[:2], victim[2:4], victim)
    with open(victim_path, "r+b") as handle:
        handle.seek(200)
        handle.write(b"\xff\xfe")

    progress = migrate(orthanc, "ToObjectStorage", delete_source=True)
    assert progress["state"] == "done-with-errors" and progress["failed"] == 1, progress
    assert progress["already_there"] == 1 and progress["copied"] == before - 2, progress
    assert "does not match the MD5 Orthanc recorded" in progress["errors"][0]["error"]
    assert disk_files(orthanc) == [victim_path]  # every verified source deleted, the corrupt one kept
    assert len(bucket_keys(s3)) == before - 1
    good = {i: d for i, d in expected.items() if i != list(expected)[1]}
    all_files_match(orthanc, good)

    again = migrate(orthanc, "ToObjectStorage", delete_source=True)  # idempotent: nothing more to copy
    assert (again["copied"], again["already_there"], again["failed"]) == (0, before - 1, 1), again

    # a refused request says what to send
    bad = orthanc.request("POST", "/medimaging/storage/migrate", json={"Direction": "Sideways"})
    assert bad.status_code == 400 and "ToObjectStorage" in bad.text

    back = migrate(orthanc, "ToDisk", delete_source=True)
    assert back["copied"] == before - 1 and back["deleted_source"] == before - 1, back
    assert bucket_keys(s3) == [] and len(disk_files(orthanc)) == before
    all_files_match(orthanc, good)
