"""python -m lab.kube as users run it, with the real kubelet: up (idempotent), env/kubeconfig files 0600, an
Orthanc Deployment whose pod becomes Ready and answers through its Service on 127.0.0.1, a rolling update, then
down removing every container and network labelled for the cluster."""
import json
import os
import ssl
import stat
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from lab.containers import images
from lab.containers.runtime import podman, remove_labelled

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
TOOLS = os.path.join(REPO, ".cache", "tools", "bin")
NAME = "kube-api-tests"
OWNER = f"kube-{NAME}"
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: pacs}
spec:
  selector: {matchLabels: {app: pacs}}
  template:
    metadata: {labels: {app: pacs}}
    spec:
      containers:
      - name: orthanc
        image: localhost/medimaging/orthanc:trixie
        ports: [{name: http, containerPort: 8042}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: pacs}
spec:
  selector: {app: pacs}
  ports: [{name: http, port: 8042, targetPort: http}]
"""


def _labelled():
    found = []
    for kind, extra in (("container", ["-a"]), ("pod", []), ("network", [])):
        found += podman(kind, "ls", *extra, "-q", "--filter", f"label=io.medimaging.lab={OWNER}",
                        check=False).stdout.decode().split()
    return found


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    images.ensure("orthanc")
    remove_labelled(OWNER)                      # leftovers of an interrupted run
    lab_dir = str(tmp_path_factory.mktemp("lab"))
    env = dict(os.environ, LAB_DIR=lab_dir, PATH=TOOLS + os.pathsep + os.environ["PATH"])

    def run(*args, check=True):
        done = subprocess.run([sys.executable, "-m", "lab.kube", *args, "--name", NAME], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"lab.kube {args} failed: {done.stderr}")
        return done
    yield run, env
    run("down", check=False)
    remove_labelled(OWNER)


def _kubectl(env, facts, *args, stdin=None):
    return subprocess.run(["kubectl", "--kubeconfig", facts["kubeconfig"], *args], env=env, capture_output=True,
                          text=True, input=stdin, timeout=120, check=True).stdout


def test_up_runs_pods_and_down_removes_them(launcher):
    run, env = launcher
    facts = json.loads(run("up").stdout)
    again = json.loads(run("up").stdout)                          # idempotent: the same cluster
    assert again["api_url"] == facts["api_url"]
    assert json.loads(run("status").stdout)["running"] is True
    for path in (facts["kubeconfig"], facts["kubeconfig_readonly"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert f"export KUBECONFIG={facts['kubeconfig']}" in run("env").stdout
    assert run("kubeconfig", "--readonly").stdout == open(facts["kubeconfig_readonly"], encoding="utf-8").read()

    _kubectl(env, facts, "apply", "-f", "-", stdin=DEPLOYMENT)
    _kubectl(env, facts, "rollout", "status", "deploy/pacs", "--timeout=180s")
    service = json.loads(_kubectl(env, facts, "get", "svc", "pacs", "-o", "json"))
    port = json.loads(service["metadata"]["annotations"]["lab.medimaging.io/host-ports"])["8042"]
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/system", timeout=10)  # noqa: S310 - the lab Service
    assert answer.value.code == 401                               # Orthanc itself, asking for credentials
    pod = json.loads(_kubectl(env, facts, "get", "pods", "-l", "app=pacs", "-o", "json"))["items"][0]
    assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"]

    # the `kubernetes` Service forwards to the API, whose certificate names its address (in-cluster clients)
    address = json.loads(_kubectl(env, facts, "get", "svc", "kubernetes", "-o", "json"))["spec"]["clusterIP"]
    context = ssl.create_default_context(cafile=facts["ca_file"])
    with urllib.request.urlopen(f"https://{address}/version", context=context, timeout=10) as answer:  # noqa: S310
        assert json.load(answer)["gitVersion"] == "v1.37.0"

    _kubectl(env, facts, "set", "env", "deploy/pacs", "ORTHANC__NAME=rolled")
    _kubectl(env, facts, "rollout", "status", "deploy/pacs", "--timeout=180s")
    pods = json.loads(_kubectl(env, facts, "get", "pods", "-l", "app=pacs", "-o", "json"))["items"]
    assert [p["metadata"]["name"] for p in pods] != [pod["metadata"]["name"]] and len(pods) == 1
    assert _labelled()

    assert json.loads(run("down").stdout)["stopped"] is True
    assert _labelled() == []
    assert run("status", check=False).returncode == 3
