"""The router's test world on 127.0.0.1: a "cloud" Orthanc (plain DICOMweb), on-prem Orthancs with the
medimaging plugin indexed in a real PostgreSQL database, and a fake DICOMweb server that answers a
chosen HTTP status (for 4xx/5xx drills). Shared by tests/integration/router and bench/."""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "plugin"))
from plugin_harness import PLUGIN_DIR, plugin_site_packages  # noqa: E402

ENTRYPOINT = os.path.join(PLUGIN_DIR, "entrypoint.py")
ADMIN = ("admin", "router-test-pass")


def cloud_config(lua_filter=None):
    config = {"Name": "cloud", "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}, "StableAge": 1}
    if lua_filter:
        config["LuaScripts"] = [lua_filter]
    return config


def onprem_config(pg, cloud_url, router=None, priors=None, servers=None, stable_age=1, plugin=True):
    """On-prem Orthanc configuration: PostgreSQL index (Lock off: replicas share it), the cloud as a
    DICOMweb server and as a peer."""
    config = {
        "Name": "onprem", "StableAge": stable_age, "AuthenticationEnabled": True,
        "RegisteredUsers": {ADMIN[0]: ADMIN[1]},
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/",
                     "Servers": dict({"cloud": {"Url": cloud_url + "/dicom-web/"}}, **(servers or {}))},
        "OrthancPeers": {"cloudpeer": {"Url": cloud_url + "/"}},
        "PostgreSQL": {"EnableIndex": True, "EnableStorage": False, "Host": pg["host"], "Port": pg["port"],
                       "Database": pg["database"], "Username": pg["user"], "Password": pg["password"],
                       "Lock": False},
    }
    if plugin:
        config.update({"Python": {"Path": ENTRYPOINT}, "PythonScript": ENTRYPOINT})
    if router is not None:
        config["MedimagingRouter"] = router
    if priors is not None:
        config["MedimagingPriors"] = priors
    return config


def onprem_kwargs(pg, cloud_url, storage=None, **kwargs):
    """storage: a StorageDirectory shared by replicas (they share the index, so they must share files)."""
    plugins = ["DicomWeb", "PostgreSQLIndex"] + (["Python"] if kwargs.get("plugin", True) else [])
    config = onprem_config(pg, cloud_url, **kwargs)
    if storage:
        config["StorageDirectory"] = storage
    return dict(config=config, plugins=plugins, auth=ADMIN,
                env={"PYTHONPATH": plugin_site_packages() or ""})


def fast_router(destinations, **extra):
    router = {"Destinations": destinations, "RetryMinSeconds": 0.5, "RetryMaxSeconds": 2.0, "PollSeconds": 0.3,
              "LeaseSeconds": 15, "OrphanAfterSeconds": 5}
    router.update(extra)
    return router


def sop_uids(orthanc):
    """SOPInstanceUIDs stored in an Orthanc (one /tools/find call)."""
    found = orthanc.request("POST", "/tools/find", json={"Level": "Instance", "Query": {}, "Expand": True})
    found.raise_for_status()
    return sorted(i["MainDicomTags"]["SOPInstanceUID"] for i in found.json())


def queue_rows(pg):
    dsn = "host=%(host)s port=%(port)s dbname=%(database)s user=%(user)s password=%(password)s" % pg
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('medimaging_router.items')").fetchone()[0] is None:
            return []  # the plugin has not created its schema yet
        return conn.execute("SELECT study_uid, destination, state, attempts, instances_sent, last_error "
                            "FROM medimaging_router.items ORDER BY id").fetchall()


def wait_until(predicate, timeout, what, poll=0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(poll)
    raise AssertionError("%s: not reached after %.0fs (last: %r)" % (what, timeout, last))


def router_status(orthanc):
    return orthanc.get_json("/medimaging/router/status")


class FakeDicomWeb:
    """A DICOMweb server on 127.0.0.1 answering `status` to STOW and [] to QIDO; counts requests."""

    def __init__(self, stow_status=400):
        self.stow_status = stow_status
        self.counts = {"stow": 0, "qido": 0}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/dicom+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                while length > 0:
                    length -= len(self.rfile.read(min(length, 1 << 16)))
                fake.counts["stow"] += 1
                self._reply(fake.stow_status, {"error": "refused by the test"})

            def do_GET(self):
                fake.counts["qido"] += 1
                self._reply(200, [])

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.httpd.server_address[1]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
