"""openshift_pacs on the OpenShift-flavoured lab cluster whose pods run on podman: one module-scoped cluster and one
converge shared by the tests of this folder."""
import os

import pytest
from openshift_pacs_harness import CLUSTER, REPO, RoleLab, succeeded

from lab.containers import images
from lab.kube.cluster import running_cluster


@pytest.fixture(scope="module")
def role_lab(tmp_path_factory):
    if not os.path.exists(os.path.join(REPO, ".cache", "tools", "bin", "helm")):
        pytest.fail("helm and kubectl are missing from .cache/tools/bin: run `make setup`")
    images.ensure("orthanc")
    with running_cluster(CLUSTER, "openshift", pods=True) as cluster:
        yield RoleLab(cluster, str(tmp_path_factory.mktemp("openshift-pacs")))


@pytest.fixture(scope="module")
def converged(role_lab):
    """The first converge (the test module's one), its recap and output."""
    done = role_lab.play(role_lab.inputs())
    return succeeded(done), done
