"""playbooks/azure_quickstart.yml over inventories/azure_quickstart_lab, converged ONCE for the module against a
throwaway lab (the Azure emulator with Graph and Key Vault, PostgreSQL, Azurite), whose container app runs as a
container of the project's image behind the lab's TLS ingress. The emulator's request log tells what each run sent."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab.containers import images
from lab.throwaway import throwaway_lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, "playbooks", "azure_quickstart.yml")
INVENTORY = os.path.join(REPO, "inventories", "azure_quickstart_lab")


class QuickstartLab:
    def __init__(self, env, workdir):
        self.env, self.workdir = env, workdir
        self.facts = os.path.join(workdir, "lab-facts.json")  # the lab's facts once, not a lookup per use
        with open(os.open(self.facts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump({"lab_azure": env}, handle)

    def requests(self):
        """Every request the emulator logged so far: [(method, path)]."""
        return [(entry.get("method"), entry.get("path")) for entry in self.log_entries()]

    def log_entries(self):
        """Every request the emulator logged so far, whole ({method, path, status, principal, ...})."""
        with open(self.env["request_log"], encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    def dicom_service_leg(self, stdout):
        """What test_deployment's leg through the plugin sent to the lab's DICOM service for its test study (the study
        UID from the summary): ({method: count} of the calls naming the study, {principal: count}, status codes)."""
        uid = re.search(r"test study ([0-9.]+) stored", " ".join(stdout.split())).group(1)
        calls = [e for e in self.log_entries() if e.get("path", "").startswith("/dicom/") and uid in e.get("path", "")]
        methods, principals = {}, {}
        for entry in calls:
            methods[entry["method"]] = methods.get(entry["method"], 0) + 1
            principals[entry.get("principal")] = principals.get(entry.get("principal"), 0) + 1
        return methods, principals, sorted({e["status"] for e in calls})

    def playbook(self, *args, label="run", timeout=600):
        """ansible-playbook -i inventories/azure_quickstart_lab playbooks/azure_quickstart.yml ARGS:
        (process, recap, the requests the emulator received meanwhile)."""
        before = len(self.requests())
        done = self._run(args, label, timeout)
        return done, recap(done.stdout), self.requests()[before:]

    def playbooks_together(self, runs, timeout=600):
        """Several runs at once ({label: args}), for those that must write nothing: ({label: recap}, every request
        the emulator received while they ran). Saves CI time; a write by any of them still shows."""
        before = len(self.requests())
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = {label: pool.submit(self._run, args, label, timeout) for label, args in runs.items()}
            recaps = {label: recap(future.result().stdout) for label, future in futures.items()}
        return recaps, self.requests()[before:]

    def operation(self, name, *args, label=None, timeout=600):
        """ansible-playbook playbooks/NAME.yml over the same inventory: (process, recap, requests meanwhile); a run
        that fails is returned too (the operations' refusals are what some tests check)."""
        before = len(self.requests())
        done = self._run(args, label or name, timeout, playbook=os.path.join(REPO, "playbooks", name + ".yml"),
                         must_pass=False)
        return done, recap(done.stdout), self.requests()[before:]

    def _run(self, args, label, timeout, playbook=PLAYBOOK, must_pass=True):
        bindir = os.path.dirname(sys.executable)
        env = dict(os.environ, LAB_DIR=self.env["lab_dir"], ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1", PYTHONDONTWRITEBYTECODE="1", HOME=self.workdir,
                   ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                   PATH=os.pathsep.join((bindir, os.environ["PATH"])))
        started = time.monotonic()
        done = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", INVENTORY, "-e", "@" + self.facts]
                              + list(args) + [playbook], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        print("%s: %.1f s" % (label, time.monotonic() - started))
        with open(os.path.join(self.workdir, label + ".log"), "w", encoding="utf-8") as handle:
            handle.write(done.stdout + done.stderr)
        assert done.returncode == 0 or not must_pass, "%s failed:\n%s\n%s" % (label, done.stdout[-6000:], done.stderr[-2000:])
        return done


def _bench():
    """bench/container_app_converge.py, whose count of a run's requests the no-op tests reuse (loaded by path)."""
    spec = importlib.util.spec_from_file_location("container_app_converge_bench",
                                                  os.path.join(REPO, "bench", "container_app_converge.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def noop_requests(sent, subscription_id):
    """A run's requests as the bench counts them: ARM reads per resource, writes, long-running-operation polls."""
    return _bench().measure(sent, subscription_id)


def recap(stdout):
    """{'ok': n, 'changed': n, ...} of the one host in PLAY RECAP."""
    line = [text for text in stdout.rsplit("PLAY RECAP", 1)[1].splitlines() if " ok=" in text][0]
    return {key: int(value) for key, value in (item.split("=") for item in line.split(":", 1)[1].split())}


# Package scope: test_operations.py (update, rollback, cleanup: the last to run) works on the same converged lab.
@pytest.fixture(scope="package")
def quickstart_lab(tmp_path_factory):
    images.ensure("orthanc")
    workdir = str(tmp_path_factory.mktemp("quickstart"))
    # `lab down` (the throwaway lab's end) removes this lab's replicas and environment networks, no one else's.
    with throwaway_lab("medimaging-quickstart-") as lab:
        yield QuickstartLab(lab.env(), workdir)


@pytest.fixture(scope="package")
def converged(quickstart_lab):
    """The first converge (everything created, the app's revision running)."""
    return quickstart_lab.playbook("--diff", label="converge")


@pytest.fixture(scope="package")
def reruns(quickstart_lab, converged):
    """A second converge, then a --check run: ({label: recap}, every request of both, the second's requests alone).
    One after the other: the emulator's log cannot tell two runs' reads apart, and the second's are counted."""
    _, second, noop_sent = quickstart_lab.playbook(label="second")
    _, check, check_sent = quickstart_lab.playbook("--check", label="check")
    return {"second": second, "check": check}, noop_sent + check_sent, noop_sent
