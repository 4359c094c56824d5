"""The Azure emulator for integration tests: reuse a running lab ($LAB_DIR or .lab), else start a private one.

A lab this fixture starts is stopped (by the launcher, by PID) and purged at the end of the session; a lab
that was already running is left as it was found.
"""
import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
for path in (HERE, COLLECTIONS, os.path.join(REPO_ROOT, "tests", "unit", "azure")):
    if path not in sys.path:
        sys.path.insert(0, path)


def _lab(*args, lab_dir=None, check=True):
    command = [sys.executable, "-m", "lab"] + (["--lab-dir", lab_dir] if lab_dir else []) + list(args)
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise RuntimeError("python -m lab %s failed: %s%s" % (" ".join(args), done.stdout, done.stderr))
    return done


@pytest.fixture(scope="session")
def azure_lab():
    """dict from `python -m lab env --json`, plus 'status' (which lab services run)."""
    lab_dir, started = None, False
    status = json.loads(_lab("status", check=False).stdout or "{}")
    if not (status.get("services", {}).get("emulator", {}).get("running")):
        lab_dir = tempfile.mkdtemp(prefix="medimaging-azlab-")
        _lab("up", lab_dir=lab_dir)
        started = True
        status = json.loads(_lab("status", lab_dir=lab_dir, check=False).stdout)
    env = json.loads(_lab("env", "--json", lab_dir=lab_dir).stdout)
    env["status"] = status
    yield env
    if started:
        _lab("down", "--purge", lab_dir=lab_dir, check=False)


@pytest.fixture
def lab_auth(azure_lab):
    """Module options that point the collection's Azure modules at the lab."""
    return {
        "auth_source": "env",
        "subscription_id": azure_lab["subscription_id"],
        "tenant": azure_lab["tenant_id"],
        "client_id": azure_lab["client_id"],
        "secret": azure_lab["client_secret"],
        "arm_endpoint": azure_lab["arm_endpoint"],
        "authority_host": azure_lab["authority_host"],
        "ca_bundle": azure_lab["ca_bundle"],
    }


class RequestLog:
    """The emulator's JSONL request log, read from a mark onwards (ARM calls only, no token traffic)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def mark(self):
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def arm_calls(self):
        with open(self.path, encoding="utf-8") as handle:
            handle.seek(self.offset)
            entries = [json.loads(line) for line in handle if line.strip()]
        return [(e["method"], e["path"]) for e in entries if e["path"].lower().startswith("/subscriptions/")]

    def writes(self):
        return [call for call in self.arm_calls() if call[0] != "GET"]


@pytest.fixture
def request_log(azure_lab):
    log = RequestLog(azure_lab["request_log"])
    log.mark()
    return log
