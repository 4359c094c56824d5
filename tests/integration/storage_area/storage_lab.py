"""The storage area's test world on 127.0.0.1, shared by tests/integration/storage_area and bench/storage_area.py.

Azurite over HTTPS with `--oauth basic` and an Entra-like token endpoint (the archive's BlobLab and StsTokenServer):
Orthanc's configuration holds a client id and a secret FILE for the token endpoint, never an account key. moto's
S3 server; the plugin reaches it with the web-identity chain (STS AssumeRoleWithWebIdentity on moto). Modalities
are pynetdicom associations with TCP_NODELAY (LAB-NOTES).
"""
import hashlib
import io
import os
import secrets
import socket
import sys

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "archive"))
sys.path.insert(0, os.path.join(HERE, "..", "plugin"))
from archive_lab import BlobLab, StsTokenServer  # noqa: E402
from plugin_harness import PLUGIN_DIR, plugin_site_packages  # noqa: E402

from lab.aws.moto import MotoServer  # noqa: E402
from lab.dicom_factory import make_study  # noqa: E402

ADMIN = ("admin", "storage-area-test-pw")
CLIENT_ID = "orthanc-storage"
CONTAINER = "orthanc"
BUCKET = "orthanc-images"
REGION = "eu-west-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/orthanc-storage"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
ENTRY = os.path.join(PLUGIN_DIR, "entrypoint.py")


def md5(data):
    return hashlib.md5(data).hexdigest()  # noqa: S324 - integrity check


class StorageLab:
    """Azurite + token endpoint + moto, started once per test module."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.blob = BlobLab(os.path.join(workdir, "blob"))
        self.sts = StsTokenServer(self.blob.ca, CLIENT_ID, secrets.token_urlsafe(24))
        self.moto = MotoServer(os.path.join(workdir, "moto"))
        self.secret_file = os.path.join(workdir, "storage-client-secret")
        self.web_identity_file = os.path.join(workdir, "web-identity-token")

    def start(self):
        self.blob.start()
        self.sts.start()
        self.moto.start()
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.sts.client_secret + "\n")
        with open(self.web_identity_file, "w", encoding="utf-8") as handle:
            handle.write("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6b3J0aGFuYzpvcnRoYW5jIn0.c2ln\n")
        self.s3().create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        return self

    def stop(self):
        for part in (self.moto, self.sts, self.blob):
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - stop the others anyway
                pass

    def container(self):
        return self.blob.container(CONTAINER)

    def s3(self):
        return boto3.client("s3", endpoint_url=self.moto.endpoint, region_name=REGION,
                            aws_access_key_id="lab", aws_secret_access_key="lab")

    # ---- Orthanc configurations ----
    def blob_section(self, **extra):
        return dict({"Backend": "azure_blob", "ContainerUrl": "%s/%s" % (self.blob.account_url, CONTAINER),
                     "TokenServer": {"TokenEndpoint": self.sts.token_endpoint, "ClientId": CLIENT_ID,
                                     "ClientSecretFile": self.secret_file},
                     "CaBundle": self.blob.ca.cert_path, "ApiVersion": "2025-11-05"}, **extra)

    def s3_section(self, **extra):
        return dict({"Backend": "s3", "Bucket": BUCKET, "Region": REGION, "Endpoint": self.moto.endpoint,
                     "StsEndpoint": self.moto.endpoint + "/", "KmsKeyId": KMS_KEY}, **extra)

    def s3_env(self):
        """Web identity as the EKS pod identity webhook injects it: no key anywhere."""
        return {"AWS_WEB_IDENTITY_TOKEN_FILE": self.web_identity_file, "AWS_ROLE_ARN": ROLE_ARN}


def orthanc_config(section=None, **extra):
    config = {"AuthenticationEnabled": True, "RegisteredUsers": {ADMIN[0]: ADMIN[1]}, "DicomAet": "PACS",
              "DicomCheckCalledAet": False, "StorageCompression": False}
    if section is not None:
        config.update({"Python": {"Path": ENTRY}, "PythonScript": ENTRY, "MedimagingStorage": section})
    config.update(extra)
    return config


def start_orthanc(orthanc_factory, name, section=None, env=None, **extra):
    plugins = ["Python"] if section is not None else []
    environment = {"PYTHONPATH": plugin_site_packages() or "", "PYTHONDONTWRITEBYTECODE": "1"}
    environment.update(env or {})
    return orthanc_factory(name=name, config=orthanc_config(section, **extra), plugins=plugins, auth=ADMIN,
                           env=environment)


def make_files(count, seed=0, rows=64):
    return make_study(instances=count, modality="CT", rows=rows, columns=rows, patient_id="STOR%04d" % seed,
                      seed=seed)


def c_store(port, files, results=None):
    """One association; C-STORE each file's bytes. Returns [(SOPInstanceUID, md5, status)] in send order (appended
    to `results` as they come, for a watcher thread); status None when the association broke (no answer)."""
    import pydicom
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage, ["1.2.840.10008.1.2.1"])
    assoc = ae.associate("127.0.0.1", port, ae_title="PACS")
    assert assoc.is_established, "no association with the PACS"
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    results = [] if results is None else results
    try:
        for data in files:
            ds = pydicom.dcmread(io.BytesIO(data))
            try:
                answer = assoc.send_c_store(ds)
                status = getattr(answer, "Status", None)
            except (OSError, RuntimeError, ValueError, AttributeError):
                status = None
            results.append((str(ds.SOPInstanceUID), md5(data), status))
            if status is None or not assoc.is_established:
                break
    finally:
        if assoc.is_established:
            assoc.release()
    return results


def attachment_uuid(orthanc, instance_id, kind="dicom"):
    return orthanc.get_json("/instances/%s/attachments/%s/info" % (instance_id, kind))["Uuid"]


def instance_by_sop(orthanc, sop):
    found = orthanc.request("POST", "/tools/lookup", data=sop).json()
    return found[0]["ID"] if found else None


def disk_files(orthanc):
    """Files in Orthanc's filesystem storage folder, the SQLite index excluded."""
    root = orthanc.config["StorageDirectory"]
    found = []
    for folder, _dirs, files in os.walk(root):
        found += [os.path.join(folder, f) for f in files if len(f) == 36]
    return found
