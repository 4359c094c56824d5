"""The project's chart on an OpenShift-flavoured lab cluster that runs its pods (lab/kube: API, controllers, podman
kubelet, restricted-v2 SCC admission, Routes on a real HAProxy), with the real helm 4 and kubectl pointed at it."""
import os
import subprocess

import pytest

from lab.containers import images
from lab.kube.cluster import client_env, running_cluster

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLUSTER = "helm-chart-it"


class ChartLab:
    def __init__(self, cluster, home):
        self.cluster = cluster
        self.env = client_env(home, cluster.write_kubeconfigs()["admin"])

    def run(self, *argv, timeout=300, stdin=None):
        """helm or kubectl: (exit code, stdout + stderr)."""
        done = subprocess.run(argv, env=self.env, input=stdin, capture_output=True, text=True, timeout=timeout,
                              check=False)
        return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def chart_lab(tmp_path_factory):
    if not os.path.exists(os.path.join(REPO, ".cache", "tools", "bin", "helm")):
        pytest.fail("helm and kubectl are missing from .cache/tools/bin: run `make setup`")
    images.ensure("orthanc")
    with running_cluster(CLUSTER, "openshift", pods=True) as cluster:
        yield ChartLab(cluster, str(tmp_path_factory.mktemp("clients")))
