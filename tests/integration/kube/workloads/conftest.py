"""A lab cluster that runs its pods (API, controllers and the podman kubelet) for the workload tests, with the real
helm 4 and kubectl pointed at it."""
import os
import subprocess

import pytest

from lab.containers import images
from lab.kube.cluster import client_env, running_cluster

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
CLUSTER = "workloads-it"


class Workloads:
    def __init__(self, cluster, home):
        self.cluster = cluster
        self.env = client_env(home, cluster.write_kubeconfigs()["admin"])

    def tool(self, *argv, timeout=180):
        """Run helm or kubectl; returns (exit code, stdout + stderr)."""
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def workloads(tmp_path_factory):
    if not os.path.exists(os.path.join(REPO, ".cache", "tools", "bin", "helm")):
        pytest.fail("helm and kubectl are missing from .cache/tools/bin: run `make setup`")
    images.ensure("orthanc")
    with running_cluster(CLUSTER, pods=True) as cluster:
        yield Workloads(cluster, str(tmp_path_factory.mktemp("clients")))
