"""The S3 storage area over HTTPS, the way it runs against AWS: moto serving TLS with a certificate of the lab's CA
(CaBundle), STS web identity over the same TLS, PUTs signed with UNSIGNED-PAYLOAD and a signed Content-MD5 (over
plain http the body is hashed into the signature instead: test_storage_s3.py). The bytes moto stored and the bytes
Orthanc serves are the ones Orthanc wrote (its own MD5 of the attachment).
"""
import os
import sys

import boto3
import pytest

from storage_lab import BUCKET, REGION, attachment_uuid, c_store, disk_files, instance_by_sop, make_files, md5, \
    start_orthanc

from lab import proc

ROOT = "tls"


@pytest.fixture
def moto_tls(storage_lab, tmp_path):
    """A second moto, HTTPS only, its certificate issued by the lab CA; stopped by its PID."""
    cert, key = storage_lab.blob.ca.issue_server_cert("moto-tls")
    port = proc.free_port()
    pidfile, logfile = str(tmp_path / "moto-tls.pid"), str(tmp_path / "moto-tls.log")
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    pid = proc.start_daemon([sys.executable, "-m", "lab.aws.server", "-H", proc.LOOPBACK, "-p", str(port), "-c", cert,
                             "-k", key], logfile, pidfile, cwd=repo)
    endpoint = "https://%s:%d" % (proc.LOOPBACK, port)
    try:
        proc.wait_for_http(endpoint + "/moto-api/", timeout=60, pid=pid, logfile=logfile,
                           cafile=storage_lab.blob.ca.cert_path)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="lab",
                          aws_secret_access_key="lab", verify=storage_lab.blob.ca.cert_path)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield endpoint, s3
    finally:
        proc.stop_pid(pid)


def test_s3_over_tls_stores_and_serves_the_sent_bytes(orthanc_factory, storage_lab, moto_tls):
    endpoint, s3 = moto_tls
    section = storage_lab.s3_section(RootPath=ROOT, Endpoint=endpoint, StsEndpoint=endpoint + "/",
                                     CaBundle=storage_lab.blob.ca.cert_path)
    orthanc = start_orthanc(orthanc_factory, "pacs-s3-tls", section, env=storage_lab.s3_env())
    sent = c_store(orthanc.dicom_port, make_files(3, seed=40))
    assert [s for _sop, _m, s in sent] == [0, 0, 0], sent
    assert disk_files(orthanc) == []
    for sop, _sent_md5, _s in sent:
        instance = instance_by_sop(orthanc, sop)
        # the file Orthanc wrote (pynetdicom re-encodes what it sends), with the MD5 Orthanc computed itself
        digest = orthanc.request("GET", "/instances/%s/attachments/dicom/md5" % instance).text.strip()
        key = "%s/%s.dcm" % (ROOT, attachment_uuid(orthanc, instance))
        assert md5(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == digest
        assert s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]["md5"] == digest
        assert md5(orthanc.request("GET", "/instances/%s/file" % instance).content) == digest
