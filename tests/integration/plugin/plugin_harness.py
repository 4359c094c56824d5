"""The plugin's test world on 127.0.0.1, shared by the integration tests and bench/token_refresh.py.

- a lab CA and a server certificate (localhost + 127.0.0.1);
- a real OAuth2 token server (npm oauth2-mock-server through token_server.mjs), HTTPS, RS256;
- a "cloud" Orthanc whose DICOMweb API is guarded by lab/dicom_guard (JWT verified against JWKS);
- an "on-prem" Orthanc with the medimaging plugin (DICOMweb + Python plugins, SQLite index).
"""
import json
import os
import secrets

import requests

from lab.ca import LabCA
from lab.orthanc import OrthancProcess
from lab.orthanc_lines import DEFAULT_LINE, check_line, orthanc_for
from lab.proc import LOOPBACK, free_port, read_pidfile, start_daemon, stop_pid, wait_for_http

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
PLUGIN_DIR = os.path.join(REPO_ROOT, "files", "orthanc-plugin")
PLUGIN_VENV = os.path.join(REPO_ROOT, ".cache", "plugin-venv")
NODE_PREFIX = os.path.join(REPO_ROOT, ".cache", "node")
GUARD_SCRIPT = os.path.join(REPO_ROOT, "lab", "dicom_guard", "guard.py")
TOKEN_SERVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "token_server.mjs")
AUDIENCE = "https://dicom.healthcareapis.azure.com"
SCOPE = AUDIENCE + "/.default"
CLIENT_ID = "onprem-orthanc"
LAB_TTL = 8  # seconds: the integration tests see several renewals in a short run
LAB_MARGIN = 3.0


def _first_existing(*paths):
    return next((p for p in paths if os.path.exists(p)), None)


def node_binary():
    return _first_existing(os.path.join(NODE_PREFIX, "bin", "node"),
                           os.path.join(NODE_PREFIX, "node_modules", "node", "bin", "node"))


def mock_server_module():
    return _first_existing(os.path.join(NODE_PREFIX, "node_modules", "oauth2-mock-server", "dist", "index.mjs"))


def plugin_site_packages():
    return _first_existing(os.path.join(PLUGIN_VENV, "lib", "python3.11", "site-packages"))


def missing_prerequisites():
    """What is missing to run the plugin's integration tests, with the command that provides it."""
    missing = []
    if not node_binary() or not mock_server_module():
        missing.append("Node 22 + oauth2-mock-server: npm install --prefix .cache/node node@22 oauth2-mock-server@9")
    if not plugin_site_packages():
        missing.append("plugin venv: /usr/bin/python3.11 -m venv .cache/plugin-venv && "
                       ".cache/plugin-venv/bin/pip install -r files/orthanc-plugin/requirements.txt")
    return missing


class TokenServer:
    def __init__(self, workdir, ca, ttl, client_secret):
        self.workdir = workdir
        self.ttl = ttl
        self.client_secret = client_secret
        self.cert, self.key = ca.issue_server_cert("token-server")
        self.cafile = ca.cert_path
        self.jwk = os.path.join(workdir, "token-server-jwk.json")  # same key across restarts
        self.port = free_port()
        self.logfile = os.path.join(workdir, "token-server.log")
        self.pidfile = os.path.join(workdir, "token-server.pid")

    @property
    def url(self):
        return "https://%s:%d" % (LOOPBACK, self.port)

    @property
    def issuer(self):
        return "https://localhost:%d" % self.port  # oauth2-mock-server names loopback "localhost"

    def start(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OAUTH2_MOCK_SERVER_MODULE": mock_server_module()}
        argv = [node_binary(), TOKEN_SERVER_SCRIPT, "--port", str(self.port), "--cert", self.cert,
                "--key", self.key, "--jwk", self.jwk, "--ttl", str(self.ttl), "--client-secret", self.client_secret]
        pid = start_daemon(argv, self.logfile, self.pidfile, env=env, cwd=self.workdir)
        wait_for_http(self.url + "/jwks", timeout=30, pid=pid, logfile=self.logfile, cafile=self.cafile,
                      accept=(200,))
        return self

    def stop(self):
        stop_pid(read_pidfile(self.pidfile), timeout=10)

    def stats(self):
        return requests.get(self.url + "/_stats", verify=self.cafile, timeout=5).json()


class PluginLab:
    """Start with `PluginLab(workdir, ttl=..., margin=...).start()`; `stop()` stops all by PID."""

    def __init__(self, workdir, ttl=8, margin=3.0, jitter=0.5, retry_min=0.5, retry_max=2.0,
                 extra_servers=None, line=DEFAULT_LINE):
        self.line = line  # the on-prem Orthanc's line (lab/orthanc_lines.py); the cloud stays on the host
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.ca = LabCA(os.path.join(self.workdir, "ca"))
        self.ca.ensure()
        self.client_secret = secrets.token_urlsafe(24)
        self.tokens = TokenServer(self.workdir, self.ca, ttl, self.client_secret)
        self.secret_file = os.path.join(self.workdir, "client-secret")
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.client_secret + "\n")
        self.admin = ("admin", secrets.token_urlsafe(12))
        self.margin, self.jitter, self.retry_min, self.retry_max = margin, jitter, retry_min, retry_max
        self.extra_servers = extra_servers or {}
        self.cloud = self.onprem = None

    def _cloud_config(self):
        return {"Name": "cloud", "Python": {"Path": GUARD_SCRIPT}, "PythonScript": GUARD_SCRIPT,
                "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}}

    def oauth_server(self, **overrides):
        server = {"Url": "%s/dicom-web/" % self.cloud.url, "TokenEndpoint": self.tokens.url + "/token",
                  "ClientId": CLIENT_ID, "ClientSecretFile": self.secret_file, "Scope": SCOPE}
        server.update(overrides)
        return server

    def _onprem_config(self):
        servers = {"cloud": self.oauth_server()}
        for name, overrides in self.extra_servers.items():
            servers[name] = self.oauth_server(**overrides)
        entry = os.path.join(PLUGIN_DIR, "entrypoint.py")
        return {
            "Name": "onprem", "AuthenticationEnabled": True, "RegisteredUsers": {self.admin[0]: self.admin[1]},
            "Python": {"Path": entry}, "PythonScript": entry,
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            # A static-header twin of "cloud" lets the benchmark compare against no token management.
            "DicomWebOAuth": {
                "RefreshMarginSeconds": self.margin, "RefreshJitterSeconds": self.jitter,
                "RetryMinSeconds": self.retry_min, "RetryMaxSeconds": self.retry_max,
                "PermanentErrorRetrySeconds": 900, "HttpTimeoutSeconds": 5, "CaBundle": self.ca.cert_path,
                "Servers": servers},
        }

    def start(self):
        self.tokens.start()
        guard_env = {"GUARD_JWKS_URL": self.tokens.url + "/jwks", "GUARD_ISSUER": self.tokens.issuer,
                     "GUARD_AUDIENCE": AUDIENCE, "GUARD_CA_FILE": self.ca.cert_path}
        self.cloud = OrthancProcess(os.path.join(self.workdir, "cloud"), config=self._cloud_config(),
                                    env=guard_env, plugins=["DicomWeb", "Python"], name="cloud").start()
        env = {"PYTHONPATH": plugin_site_packages()}
        self.onprem = orthanc_for(self.line, os.path.join(self.workdir, "onprem"), config=self._onprem_config(),
                                  env=env, plugins=["DicomWeb", "Python"], auth=self.admin, name="onprem").start()
        check_line(self.onprem, self.line)
        return self

    def stop(self):
        for process in (self.onprem, self.cloud):
            if process is not None:
                process.stop()
        self.tokens.stop()

    # ---- helpers for tests and the benchmark ----
    def oauth_status(self):
        return self.onprem.get_json("/medimaging/oauth/status")

    def wait_for_token(self, name="cloud", timeout=60.0):  # returns as soon as valid; generous for a loaded machine
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.oauth_status()["servers"].get(name, {})
            if status.get("token_valid"):
                return status
            time.sleep(0.1)
        raise AssertionError("no token for %s after %.0fs: %s" % (name, timeout, json.dumps(self.oauth_status())))

    def metrics_text(self):
        answer = self.onprem.request("GET", "/medimaging/metrics")
        answer.raise_for_status()
        return answer.text

    def stow(self, server, orthanc_ids):
        return self.onprem.request("POST", "/dicom-web/servers/%s/stow" % server,
                                   json={"Resources": list(orthanc_ids), "Synchronous": True})

    def guard_stats(self):
        return self.cloud.get_json("/guard/stats")
