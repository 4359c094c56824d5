"""One lab cluster (API + controllers, no pods) per test module, and the real clients pointed at it."""
import os
import shutil
import subprocess

import pytest

from lab.kube.cluster import running_cluster

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
TOOLS = os.path.join(REPO, ".cache", "tools", "bin")


class Clients:
    """kubectl and helm with the cluster's admin (or read-only) kubeconfig; HOME and caches kept in tmp."""

    def __init__(self, cluster, home):
        self.cluster, self.home = cluster, home
        self.kubeconfigs = cluster.write_kubeconfigs()
        self.env = dict(os.environ, HOME=home, KUBECONFIG=self.kubeconfigs["admin"],
                        HELM_CACHE_HOME=os.path.join(home, "helm-cache"),
                        HELM_CONFIG_HOME=os.path.join(home, "helm-config"),
                        HELM_DATA_HOME=os.path.join(home, "helm-data"),
                        PATH=TOOLS + os.pathsep + os.environ.get("PATH", ""))

    def run(self, tool, *args, readonly=False, check=True, stdin=None):
        env = dict(self.env, KUBECONFIG=self.kubeconfigs["readonly" if readonly else "admin"])
        done = subprocess.run([shutil.which(tool, path=env["PATH"]), *args], env=env, capture_output=True,
                              text=True, input=stdin, timeout=60, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    def kubectl(self, *args, **kwargs):
        return self.run("kubectl", *args, **kwargs)

    def helm(self, *args, **kwargs):
        return self.run("helm", *args, **kwargs)


@pytest.fixture(scope="module")
def cluster(request):
    name = request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")[-20:].strip("-")
    with running_cluster(name) as running:
        yield running


@pytest.fixture(scope="module")
def clients(cluster, tmp_path_factory):
    if not os.path.exists(os.path.join(TOOLS, "kubectl")):
        pytest.fail("kubectl/helm are missing from .cache/tools/bin: run scripts/install-kube-binaries.sh")
    return Clients(cluster, str(tmp_path_factory.mktemp("kube-home")))
