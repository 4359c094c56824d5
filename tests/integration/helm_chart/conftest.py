"""The project's chart on an OpenShift-flavoured lab cluster that runs its pods (lab/kube: API, controllers, podman
kubelet, restricted-v2 SCC admission, Routes on a real HAProxy), with the real helm 4 and kubectl pointed at it."""
import os
import subprocess

import pytest

from lab.containers import images
from lab.containers.runtime import remove_labelled
from lab.kube.cluster import running_cluster
from lab.kube.kubelet import cluster_owner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLUSTER = "helm-chart-it"


class ChartLab:
    def __init__(self, cluster, home):
        self.cluster = cluster
        tools = os.path.join(REPO, ".cache", "tools", "bin")
        self.env = dict(os.environ, HOME=home, KUBECONFIG=cluster.write_kubeconfigs()["admin"],
                        HELM_CACHE_HOME=home + "/cache", HELM_CONFIG_HOME=home + "/config",
                        HELM_DATA_HOME=home + "/data", PATH=tools + os.pathsep + os.environ["PATH"])

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
    remove_labelled(cluster_owner(CLUSTER))            # a crashed earlier run's pods and network
    with running_cluster(CLUSTER, "openshift", pods=True) as cluster:
        yield ChartLab(cluster, str(tmp_path_factory.mktemp("clients")))
    remove_labelled(cluster_owner(CLUSTER))
