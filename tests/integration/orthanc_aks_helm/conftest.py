"""playbooks/azure_production_aks.yml over inventories/aks_lab, converged ONCE for the module (aks_harness.py)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aks_harness import running_aks_lab  # noqa: E402


@pytest.fixture(scope="module")
def aks_lab(tmp_path_factory):
    with running_aks_lab(str(tmp_path_factory.mktemp("aks-helm"))) as lab:
        yield lab


@pytest.fixture(scope="module")
def converged(aks_lab):
    """The first converge (everything created, the chart rolled out) and its recap."""
    done, summary = aks_lab.playbook("--diff", label="converge")
    return done, summary
