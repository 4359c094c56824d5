"""medimaging-probe (images/orthanc/probe.py) answers while the Python plugin is blocked in a call into Orthanc.

orthanc-python holds its interpreter lock for the whole of a plugin's call into Orthanc (Debian 12's 4.0 here, as
Debian 13's 5.0), so while a plugin thread waits in Orthanc's DICOMweb client on a server that never answers (a WAN
that drops packets), every Python route waits too. The probes ask Orthanc's own routes, which do not wait. Run
against Debian's Orthanc on this machine with a plugin script that makes such a call to a listening socket that
never answers, and the probe script run as the image runs it (its configuration file in ORTHANC_CONFIG_DIR)."""
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time

from lab.orthanc import OrthancProcess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROBE = os.path.join(REPO, "images", "orthanc", "probe.py")
BLOCK_SECONDS = 8
PLUGIN = '''import json
import orthanc

def block(output, uri, **request):
    try:  # a STOW/QIDO through Orthanc's DICOMweb client to a server that never answers
        orthanc.RestApiPostAfterPlugins("/dicom-web/servers/silent/qido", json.dumps({"Uri": "/studies"}))
    except Exception:
        pass
    output.AnswerBuffer(b"done", "text/plain")

def ping(output, uri, **request):
    output.AnswerBuffer(b"pong", "text/plain")

orthanc.RegisterRestCallback("/test/block", block)
orthanc.RegisterRestCallback("/test/ping", ping)
'''


def _probe(config_dir, kind):
    started = time.monotonic()
    done = subprocess.run([sys.executable, PROBE, kind], env={"ORTHANC_CONFIG_DIR": config_dir, "PATH": "/usr/bin"},
                          capture_output=True, text=True, timeout=30, check=False)
    return done, time.monotonic() - started


def test_probes_answer_while_a_plugin_call_waits_on_a_silent_server(tmp_path):
    silent = socket.create_server(("127.0.0.1", 0))     # accepts (the kernel does), never answers
    script = tmp_path / "blocking_plugin.py"
    script.write_text(PLUGIN)
    password = secrets.token_urlsafe(12)
    config = {"PythonScript": str(script), "AuthenticationEnabled": True,
              "RegisteredUsers": {"probe": password}, "HttpTimeout": BLOCK_SECONDS,
              "DicomWeb": {"Enable": True, "Servers": {"silent": {
                  "Url": "http://127.0.0.1:%d/" % silent.getsockname()[1], "Timeout": BLOCK_SECONDS}}}}
    orthanc = OrthancProcess(str(tmp_path / "orthanc"), config=config, plugins=["DicomWeb", "Python"],
                             auth=("probe", password), name="probe-test").start()
    try:
        config_dir = str(tmp_path / "orthanc")             # the probe reads orthanc.json there
        with open(os.path.join(config_dir, "orthanc.json"), "w", encoding="utf-8") as handle:
            json.dump(orthanc.config, handle)
        for kind in ("live", "ready"):
            done, _seconds = _probe(config_dir, kind)
            assert done.returncode == 0, done.stderr
        blocked = threading.Thread(target=orthanc.request, args=("GET", "/test/block"), daemon=True)
        blocked.start()
        time.sleep(1)                                       # the plugin thread is now waiting, holding the lock
        answers = {kind: _probe(config_dir, kind) for kind in ("live", "ready")}
        started = time.monotonic()
        assert orthanc.request("GET", "/test/ping").text == "pong"
        python_route_seconds = time.monotonic() - started
        blocked.join(BLOCK_SECONDS + 20)
        # The premise: a Python route waited for the blocked call (if a later orthanc-python stops holding the lock,
        # this says so and the probes' reason to avoid Python routes is gone).
        assert python_route_seconds > BLOCK_SECONDS / 2, python_route_seconds
        for kind, (done, seconds) in answers.items():
            assert done.returncode == 0, (kind, done.stderr)
            assert json.loads(done.stdout) == {"status": {"live": "alive", "ready": "ready"}[kind]}
            assert seconds < BLOCK_SECONDS / 2, (kind, seconds, python_route_seconds)
    finally:
        orthanc.stop()
        silent.close()


def test_probe_fails_clearly_without_orthanc(tmp_path):
    port = socket.create_server(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    (tmp_path / "orthanc.json").write_text(json.dumps({"HttpPort": free, "RegisteredUsers": {"u": "p"}}))
    done, _seconds = _probe(str(tmp_path), "ready")
    assert done.returncode == 1 and "no answer" in done.stderr
    done, _seconds = _probe(str(tmp_path), "sideways")
    assert done.returncode == 2 and done.stderr.strip() == "usage: medimaging-probe live|ready"
