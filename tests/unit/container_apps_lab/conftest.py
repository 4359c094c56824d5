"""A store holding what Container Apps checks look up (a workspace, a VNet's subnets, an environment), no server."""
import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from lab.azure.store import Store  # noqa: E402

RG = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet"
WORKSPACE_ID = "11111111-2222-3333-4444-555555555555"
SHARED_KEY = "c2hhcmVkLWtleQ=="
ENV = f"{RG}/providers/Microsoft.App/managedEnvironments/env"
VNET_ENV = f"{RG}/providers/Microsoft.App/managedEnvironments/vnet-env"
UAI = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orthanc"


class Ctx:
    def __init__(self, store):
        self.store = store


def _subnet(name, prefix, delegated=False):
    delegations = [{"name": "app", "properties": {"serviceName": "Microsoft.App/environments"}}] if delegated else []
    return {"id": f"{VNET}/subnets/{name}", "name": name, "type": "Microsoft.Network/virtualNetworks/subnets",
            "properties": {"addressPrefix": prefix, "delegations": delegations}}


@pytest.fixture
def ctx(tmp_path):
    store = Store(str(tmp_path / "state.json"))
    store.put_resource(f"{RG}/providers/Microsoft.OperationalInsights/workspaces/logs", {
        "private": {"sharedKeys": {"primarySharedKey": SHARED_KEY, "secondarySharedKey": "b3RoZXI="}},
        "body": {"id": f"{RG}/providers/Microsoft.OperationalInsights/workspaces/logs", "name": "logs",
                 "type": "Microsoft.OperationalInsights/workspaces", "properties": {"customerId": WORKSPACE_ID}}})
    for subnet in (_subnet("big", "10.30.0.0/23"), _subnet("small", "10.30.2.0/24"),
                   _subnet("wp", "10.30.3.0/27", delegated=True), _subnet("wp-plain", "10.30.3.32/27"),
                   _subnet("tiny", "10.30.3.64/28", delegated=True)):
        store.put_resource(subnet["id"], {"private": {}, "body": subnet})
    store.put_resource(ENV, {"private": {}, "body": {"id": ENV, "name": "env", "location": "westeurope",
                                                     "type": "Microsoft.App/managedEnvironments", "properties": {}}})
    store.put_resource(VNET_ENV, {"private": {}, "body": {
        "id": VNET_ENV, "name": "vnet-env", "type": "Microsoft.App/managedEnvironments", "location": "westeurope",
        "properties": {"vnetConfiguration": {"infrastructureSubnetId": f"{VNET}/subnets/wp"},
                       "workloadProfiles": [{"name": "Consumption", "workloadProfileType": "Consumption"},
                                            {"name": "d4", "workloadProfileType": "D4", "minimumCount": 1,
                                             "maximumCount": 3}]}}})
    return Ctx(store)
