"""Orthanc's attachments in moto's S3 through the plugin's storage area, credentials from web identity (IRSA).

Orthanc's environment holds AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN only, as EKS injects them; the plugin
exchanges the token at STS (moto) and signs with SigV4. Objects carry SSE-KMS with the configured key id and the
official plugins' flat names; reads survive a restart; kill -9 during a C-STORE burst loses nothing that was
acknowledged; an object the official plugin would have written (hand-made, flat name) is served by Orthanc.
"""
import threading
import time

from storage_lab import (BUCKET, KMS_KEY, attachment_uuid, c_store, disk_files, instance_by_sop, make_files, md5,
                         start_orthanc)

ROOT = "pacs"


def stored_md5(orthanc, instance):
    return orthanc.request("GET", "/instances/%s/attachments/dicom/md5" % instance).text.strip()


def test_s3_web_identity_sse_kms_restart(orthanc_factory, storage_lab):
    s3 = storage_lab.s3()
    orthanc = start_orthanc(orthanc_factory, "pacs-s3", storage_lab.s3_section(RootPath=ROOT),
                            env=storage_lab.s3_env())
    status = orthanc.get_json("/medimaging/storage/status")
    assert status["state"] == "running" and status["config"]["sse_kms"] is True, status
    sent = c_store(orthanc.dicom_port, make_files(3, seed=20))
    assert [s for _sop, _m, s in sent] == [0, 0, 0], sent
    assert disk_files(orthanc) == []
    digests = {}
    for sop, _m, _s in sent:
        instance = instance_by_sop(orthanc, sop)
        digests[instance] = stored_md5(orthanc, instance)
        key = "%s/%s.dcm" % (ROOT, attachment_uuid(orthanc, instance))
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == KMS_KEY, head
        assert md5(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == digests[instance]
    orthanc.restart()
    for instance, digest in digests.items():
        assert md5(orthanc.request("GET", "/instances/%s/file" % instance).content) == digest

    # a hand-made object under the official flat name replaces one attachment's bytes: Orthanc serves it
    instance = next(iter(digests))
    key = "%s/%s.dcm" % (ROOT, attachment_uuid(orthanc, instance))
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=original)  # written by another client, same name
    assert md5(orthanc.request("GET", "/instances/%s/file" % instance).content) == digests[instance]

    for instance in digests:
        assert orthanc.request("DELETE", "/instances/%s" % instance).status_code == 200
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=ROOT + "/").get("KeyCount", 0) == 0

    # the chain really is the web identity one: without its token file nothing is signed, the store is refused
    broken = start_orthanc(orthanc_factory, "pacs-s3-no-identity", storage_lab.s3_section(RootPath=ROOT),
                           env=dict(storage_lab.s3_env(), AWS_WEB_IDENTITY_TOKEN_FILE="/nonexistent/token"))
    refused = broken.request("POST", "/instances", data=make_files(1, seed=21)[0])
    assert refused.status_code >= 400 and broken.get_json("/instances") == []
    assert "cannot read AWS_WEB_IDENTITY_TOKEN_FILE /nonexistent/token" in broken.log_text()


def test_kill_during_burst_loses_nothing_acknowledged(orthanc_factory, storage_lab):
    orthanc = start_orthanc(orthanc_factory, "pacs-s3-kill", storage_lab.s3_section(RootPath="burst"),
                            env=storage_lab.s3_env())
    files = make_files(60, seed=30)
    results = []
    sender = threading.Thread(target=c_store, args=(orthanc.dicom_port, files, results))
    sender.start()
    deadline = time.monotonic() + 30
    while sum(1 for r in list(results) if r[2] == 0) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    orthanc.kill()
    sender.join(60)
    acknowledged = [sop for sop, _m, status in results if status == 0]
    assert 5 <= len(acknowledged) < len(files), len(acknowledged)
    orthanc.start()
    for sop in acknowledged:
        instance = instance_by_sop(orthanc, sop)
        assert instance, "acknowledged %s is not indexed after kill -9" % sop
        answer = orthanc.request("GET", "/instances/%s/file" % instance)
        assert answer.status_code == 200 and md5(answer.content) == stored_md5(orthanc, instance), sop
