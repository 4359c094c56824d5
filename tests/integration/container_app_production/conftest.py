"""playbooks/azure_production.yml over inventories/azure_production_lab, converged ONCE for the folder against a
throwaway lab, whose container app runs its replicas as containers of the project's image. The runner is the
quickstart folder's (tests/integration/container_app/conftest.py, loaded by path with this scenario's inventory)."""
import importlib.util
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab.containers import images
from lab.throwaway import throwaway_lab

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PLAYBOOK = os.path.join(REPO, "playbooks", "azure_production.yml")



def _quickstart_module(name, filename):
    """A copy of one of the quickstart folder's modules, loaded by path (its folder is not a package on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(os.path.dirname(HERE), "container_app", filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _quickstart_module("container_app_runner", "conftest.py")
runner.INVENTORY = os.path.join(REPO, "inventories", "azure_production_lab")  # this copy of the module only
recap = runner.recap
noop_requests = runner.noop_requests
# The quickstart's counting client (every outcome kept), asking /statistics here: a question for the PostgreSQL
# index (Orthanc answers /system from memory), so that a replica that lost its database login counts as a failure.
clients = _quickstart_module("container_app_clients", "test_operations.py")
_ask_system = clients.ask
clients.ask = lambda app, path="/statistics", timeout=10: _ask_system(app, path, timeout)  # this copy only


class ProductionLab(runner.QuickstartLab):
    def converge(self, *args, label="converge"):
        """The production playbook: (process, recap, requests meanwhile); fails the test when the run fails."""
        before = len(self.requests())
        done = self._run(args, label, 900, playbook=PLAYBOOK)
        return done, recap(done.stdout), self.requests()[before:]

    def together(self, runs):
        """Several production runs at once ({label: args}), allowed to fail (refusals are expected):
        ({label: process}, every request the emulator received while they ran)."""
        before = len(self.requests())
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = {label: pool.submit(self._run, args, label, 900, PLAYBOOK, False) for label, args in runs.items()}
            done = {label: future.result() for label, future in futures.items()}
        return done, self.requests()[before:]


@pytest.fixture(scope="package")
def production_lab(tmp_path_factory):
    images.ensure("orthanc")
    workdir = str(tmp_path_factory.mktemp("production"))
    with throwaway_lab("medimaging-production-") as lab:  # `lab down` removes its replicas and networks
        yield ProductionLab(lab.env(), workdir)


@pytest.fixture(scope="package")
def check_from_empty(production_lab):
    """--check against the empty resource group, before anything of the scenario exists: (process, recap, requests
    meanwhile). The group is made first: the modules refuse, in check mode too, a resource whose parent is missing."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.resource.resources import ResourceManagementClient
    env = production_lab.env
    credential = ClientSecretCredential(env["tenant_id"], env["client_id"], env["client_secret"],
                                        authority=env["authority_host"], disable_instance_discovery=True,
                                        connection_verify=env["ca_bundle"])
    ResourceManagementClient(credential, env["subscription_id"], base_url=env["arm_endpoint"],
                             credential_scopes=["https://management.azure.com/.default"],
                             connection_verify=env["ca_bundle"]).resource_groups.create_or_update(
        "rg-production-lab", {"location": env["location"]})
    return production_lab.converge("--check", label="check-from-empty")


@pytest.fixture(scope="package")
def converged(production_lab, check_from_empty):
    return production_lab.converge("--diff")


# Bad inputs, each refused by the role's checks before any change (the scenario's network entry point runs them first).
BAD_INPUTS = {
    "bad-cpu": ({"orthanc_container_app_cpu": 0.75, "orthanc_container_app_memory": "2Gi"}, "Azure refuses 0.75 vCPU"),
    "bad-subnet": ({"orthanc_container_app_environment_subnet_prefix": "10.61.0.0/28"}, "subnets are too small"),
    "plain-secret": ({"orthanc_container_app_oauth_server": {"ClientSecret": "plain-canary-8d1f"}},
                     "production takes no client secret"),
    "tcp-outside-vnet": ({"orthanc_container_app_mode": "quickstart", "orthanc_container_app_dicom_port": 4242},
                         "allows only in a Container Apps environment with a custom VNet"),
}


@pytest.fixture(scope="package")
def reruns(production_lab, converged):
    """A second converge alone (its reads are counted: the emulator's log cannot tell runs apart), then a --check run
    and the bad inputs side by side: ({label: process}, every request of them all, the second's requests alone)."""
    second, _, noop_sent = production_lab.converge(label="second")
    runs = {"check": ("--check",)}
    for label, (extra, _) in BAD_INPUTS.items():
        path = os.path.join(production_lab.workdir, label + ".json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(extra, handle)
        runs[label] = ("-e", "@" + path)
    done, sent = production_lab.together(runs)
    return dict(done, second=second), noop_sent + sent, noop_sent
