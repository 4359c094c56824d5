"""The archive's test world on 127.0.0.1, shared by the integration tests and bench/archive_throughput.py.

- a lab CA and Azurite over HTTPS (lab/azurite.py) with one storage account whose key is random;
- a helper that runs the orthanc_study_archive module's main() in a subprocess (so a test can kill -9 it);
- DICOM generation with lab/dicom_factory.py and MD5 bookkeeping of what was sent.
"""
import base64
import datetime
import hashlib
import json
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import jwt
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import ContainerClient
from cryptography.hazmat.primitives.asymmetric import rsa

from lab.azurite import Azurite
from lab.ca import LabCA
from lab.dicom_factory import make_study
from lab.proc import free_port

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
MODULE = "ansible_collections.medimaging.orthanc.plugins.modules.orthanc_study_archive"
ACCOUNT = "archivelab"
# Azurite rejects the newest x-ms-version the SDK sends unless told to skip the check (LAB-NOTES).
API_VERSION = "2025-11-05"


class BlobLab:
    """Azurite with one account; start() then container(name)."""

    def __init__(self, workdir):
        self.workdir = os.path.abspath(workdir)
        self.ca = LabCA(os.path.join(self.workdir, "ca"))
        self.ca.ensure()
        cert, key = self.ca.issue_server_cert("azurite")
        self.azurite = Azurite(os.path.join(self.workdir, "azurite"), free_port(), cert, key)
        self.key = base64.b64encode(secrets.token_bytes(32)).decode()

    @property
    def account_url(self):
        return self.azurite.endpoint(ACCOUNT).rstrip("/")

    def start(self):
        self.azurite.save_accounts({ACCOUNT: [self.key, base64.b64encode(secrets.token_bytes(32)).decode()]})
        self.azurite.start()
        return self

    def stop(self):
        self.azurite.stop()

    def container(self, name, create=True):
        client = ContainerClient(self.account_url, name, credential=AzureNamedKeyCredential(ACCOUNT, self.key),
                                 api_version=API_VERSION, connection_verify=self.ca.cert_path)
        if create and not client.exists():
            client.create_container()
        return client

    def module_auth(self, container):
        """Module parameters that reach `container` with the account key."""
        return {"account_url": self.account_url, "account_key": self.key, "container": container,
                "ca_bundle": self.ca.cert_path, "blob_api_version": API_VERSION}


def orthanc_params(orthanc):
    return {"orthanc_url": orthanc.url, "orthanc_username": orthanc.auth[0], "orthanc_password": orthanc.auth[1]}


def module_env():
    env = dict(os.environ, PYTHONPATH=COLLECTIONS, PYTHONDONTWRITEBYTECODE="1")
    env.pop("REQUESTS_CA_BUNDLE", None)  # the module must honour its own ca_bundle
    return env


def start_module(args, workdir, check_mode=False):
    """Popen running the module's main() with an args file, as Ansible does on a host."""
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)
    path = os.path.join(workdir, "args-%s.json" % secrets.token_hex(4))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the account key
    with os.fdopen(fd, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    return subprocess.Popen([sys.executable, "-m", MODULE, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=module_env(), cwd=workdir)


def run_module(args, workdir, check_mode=False, timeout=120):
    process = start_module(args, workdir, check_mode)
    out, err = process.communicate(timeout=timeout)
    text = out.decode()
    if "{" not in text:
        raise AssertionError("module printed no JSON (rc %s): %s" % (process.returncode, err.decode()[-2000:]))
    return json.loads(text[text.index("{"):])


def md5(data):
    return hashlib.md5(data).hexdigest()  # noqa: S324 - integrity check


def load_studies(orthanc, specs, instances=4, rows=64, seed=0):
    """Upload studies; specs: [(days_ago, modality)]. Returns {StudyInstanceUID: {sop: md5, 'date': ...}}."""
    from pydicom import dcmread
    import io
    sent = {}
    for number, (days_ago, modality) in enumerate(specs):
        date = datetime.date.today() - datetime.timedelta(days=days_ago)
        files = make_study(instances=instances, modality=modality, study_date=date, rows=rows, columns=rows,
                           patient_id="ARCH%04d" % number, seed=seed + number)
        for data in files:
            ds = dcmread(io.BytesIO(data), stop_before_pixels=True)
            study = sent.setdefault(ds.StudyInstanceUID, {"date": date.strftime("%Y%m%d"), "instances": {}})
            study["instances"][ds.SOPInstanceUID] = (ds.SeriesInstanceUID, md5(data), len(data))
            orthanc.upload(data)
    return sent


def blobs_of(container):
    """{name: (size, md5hex)} of everything in the container."""
    return {b.name: (b.size, bytes(b.content_settings.content_md5 or b"").hex()) for b in container.list_blobs()}


def local_study_uids(orthanc):
    return {s["MainDicomTags"]["StudyInstanceUID"] for s in orthanc.get_json("/studies?expand")}


class StsTokenServer:
    """An Entra-like client-credentials token endpoint over HTTPS on 127.0.0.1 (a thread of the test process).

    Azurite's `--oauth basic` accepts a bearer token whose iss starts with https://sts.windows.net/, whose aud is
    Storage's and whose nbf/exp hold; it does not check the signature. The plugin lab's oauth2-mock-server names
    itself https://localhost:PORT, which Azurite refuses, hence this endpoint: POST /TENANT/oauth2/v2.0/token
    with grant_type=client_credentials, client_id, client_secret, scope -> an RS256 JWT whose aud is the scope
    without /.default; another secret -> 401 invalid_client. stop() closes the port, start() reopens the same.
    """

    def __init__(self, ca, client_id, client_secret, ttl=3600):
        self.cert, self.key = ca.issue_server_cert("sts")
        self.tenant = str(uuid.uuid4())
        self.client_id, self.client_secret, self.ttl = client_id, client_secret, ttl
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.port = free_port()
        self.stats = {"issued": 0, "rejected": 0}
        self.issued = []  # token values, for leak checks
        self.httpd = None

    @property
    def token_endpoint(self):
        return "https://127.0.0.1:%d/%s/oauth2/v2.0/token" % (self.port, self.tenant)

    def answer(self, path, form):
        """(HTTP status, JSON body) for one token request."""
        if path != "/%s/oauth2/v2.0/token" % self.tenant or form.get("grant_type") != "client_credentials":
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: unexpected request"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            self.stats["rejected"] += 1
            return 401, {"error": "invalid_client",
                         "error_description": "AADSTS7000215: Invalid client secret provided."}
        now = int(time.time())
        claims = {"aud": form.get("scope", "").rsplit("/.default", 1)[0],
                  "iss": "https://sts.windows.net/%s/" % self.tenant, "iat": now, "nbf": now, "exp": now + self.ttl,
                  "appid": self.client_id, "tid": self.tenant, "sub": self.client_id}
        token = jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": "lab-sts"})
        self.stats["issued"] += 1
        self.issued.append(token)
        return 200, {"token_type": "Bearer", "expires_in": self.ttl, "access_token": token}

    def start(self):
        sts = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                status, body = sts.answer(self.path, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)  # SO_REUSEADDR: same port again
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, name="sts-token-server", daemon=True).start()
        return self

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
