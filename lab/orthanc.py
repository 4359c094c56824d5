"""Start a real Orthanc (Debian's /usr/sbin/Orthanc) on 127.0.0.1 with a given JSON configuration."""
import copy
import json
import os

import requests

from lab.proc import LOOPBACK, LabError, free_port, port_in_use, read_pidfile, start_daemon, stop_pid, wait_for_http

ORTHANC_BINARY = "/usr/sbin/Orthanc"
PLUGIN_DIR = "/usr/share/orthanc/plugins"
# The collection's PROCESS_ENVIRONMENT (plugins/module_utils/orthanc_config.py), as the image and orthanc_host give
# it: the lab's Orthancs must run as the product's do (tests/unit/containers/test_process_environment.py).
PROCESS_ENVIRONMENT = {"TCP_NODELAY": "1", "MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "8388608"}


def plugin_path(name):
    """Path of a Debian-packaged plugin, e.g. plugin_path('DicomWeb') -> .../libOrthancDicomWeb.so."""
    candidates = [f"libOrthanc{name}.so", f"lib{name}.so", name]
    for candidate in candidates:
        path = os.path.join(PLUGIN_DIR, candidate)
        if os.path.exists(path):
            return path
    raise LabError(f"Orthanc plugin {name!r} not found in {PLUGIN_DIR}: run `make setup`")


class OrthancProcess:
    """One Orthanc with its own storage under workdir. Ports are picked free unless the config names them."""

    def __init__(self, workdir, config=None, env=None, plugins=(), auth=None, name="orthanc"):
        self.workdir = os.path.abspath(workdir)
        self.name = name
        self.auth = auth
        self.env = dict(env or {})
        self.config = self._complete_config(copy.deepcopy(config or {}), plugins)
        self.http_port = self.config["HttpPort"]
        self.dicom_port = self.config["DicomPort"]
        self.config_path = os.path.join(self.workdir, f"{name}.json")
        self.logfile = os.path.join(self.workdir, f"{name}.log")
        self.pidfile = os.path.join(self.workdir, f"{name}.pid")

    def _complete_config(self, config, plugins):
        config.setdefault("Name", self.name)
        config.setdefault("StorageDirectory", os.path.join(self.workdir, "storage"))
        config.setdefault("IndexDirectory", os.path.join(self.workdir, "index"))
        config.setdefault("HttpPort", free_port())
        config.setdefault("DicomPort", free_port())
        config.setdefault("RemoteAccessAllowed", False)
        config.setdefault("MaximumStorageCacheSize", 0)
        if plugins:
            config["Plugins"] = [plugin_path(p) if "/" not in p else p for p in plugins]
        return config

    @property
    def url(self):
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def pid(self):
        return read_pidfile(self.pidfile)

    def start(self, timeout=60):
        for port in (self.http_port, self.dicom_port):
            if port_in_use(port):
                raise LabError(f"port {port} is already in use: cannot start Orthanc {self.name!r}")
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.config_path, "w", encoding="utf-8") as handle:
            json.dump(self.config, handle, indent=2)
        pid = start_daemon(self.command(), self.logfile, self.pidfile, env=self.process_env(), cwd=self.workdir)
        wait_for_http(f"{self.url}/system", timeout=timeout, pid=pid, logfile=self.logfile, accept=(200, 401))
        return self

    def command(self):
        """What start() runs (lab/orthanc_container.py runs the image instead)."""
        return [ORTHANC_BINARY, self.config_path]

    def process_env(self):
        """The environment Orthanc starts with; a None in `env` removes that variable (glibc's defaults, say)."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **PROCESS_ENVIRONMENT, **self.env}
        return {name: value for name, value in env.items() if value is not None}

    def stop(self, timeout=20):
        stop_pid(self.pid, timeout=timeout)

    def kill(self):
        """SIGKILL, for crash tests."""
        stop_pid(self.pid, timeout=0)

    def restart(self, timeout=60):
        self.stop()
        return self.start(timeout)

    # A tiny REST client: tests and benchmarks use it to look inside.
    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 60)
        if self.auth:
            kwargs.setdefault("auth", self.auth)
        return requests.request(method, self.url + path, **kwargs)

    def get_json(self, path):
        answer = self.request("GET", path)
        answer.raise_for_status()
        return answer.json()

    def upload(self, dicom_bytes):
        answer = self.request("POST", "/instances", data=dicom_bytes, headers={"Content-Type": "application/dicom"})
        answer.raise_for_status()
        return answer.json()

    def log_text(self):
        with open(self.logfile, encoding="utf-8", errors="replace") as handle:
            return handle.read()
