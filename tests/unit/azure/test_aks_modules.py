"""azure_aks_cluster and azure_aks_cluster_info in-process against the in-memory ARM: the body (secure defaults,
the autoscaler's count kept within the bounds), the no-op, what is refused before any request, and the kubeconfig file."""
import base64
import os
import stat

import pytest

from fake_arm import FakeArm, SUBSCRIPTION
from module_runner import run_module

RG = "/subscriptions/%s/resourceGroups/rg" % SUBSCRIPTION
UAI = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
SUBNET = RG + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks"
CLUSTER = RG + "/providers/Microsoft.ContainerService/managedClusters/aks-pacs"
POOL = dict(name="system", vm_size="Standard_D4ds_v5", enable_auto_scaling=True, min_count=2, max_count=5,
            vnet_subnet_id=SUBNET)
ARGS = dict(resource_group="rg", name="aks-pacs", location="westeurope", dns_prefix="aks-pacs",
            identity_id=UAI + "id-aks", kubelet_identity_id=UAI + "id-kubelet", node_pools=[POOL],
            service_cidr="10.200.0.0/16", dns_service_ip="10.200.0.10")


def test_body_has_workload_identity_on_and_the_autoscaler_count_is_kept():
    arm = FakeArm(lro=True)
    run_module("azure_aks_cluster", ARGS, arm)
    body = arm.writes()[0][2]
    props = body["properties"]
    assert props["oidcIssuerProfile"] == {"enabled": True}
    assert props["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert props["networkProfile"]["networkPlugin"] == "azure" and props["enableRBAC"] is True
    assert body["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {UAI + "id-aks": {}}}
    assert props["identityProfile"] == {"kubeletidentity": {"resourceId": UAI + "id-kubelet"}}
    assert props["agentPoolProfiles"][0]["count"] == 2, "created at min_count"
    stored = arm.store[CLUSTER.lower()]
    stored["properties"]["agentPoolProfiles"][0]["count"] = 4  # the autoscaler scaled out
    arm.log.clear()
    again = run_module("azure_aks_cluster", ARGS, arm)
    assert again["changed"] is False and [m for m, _, _ in arm.log] == ["GET"], again["diff"]
    wider = run_module("azure_aks_cluster", dict(ARGS, node_pools=[dict(POOL, max_count=8)]), arm)
    sent = arm.writes()[-1][2]["properties"]["agentPoolProfiles"][0]
    assert wider["changed"] and sent["maxCount"] == 8 and sent["count"] == 4, "the autoscaler's count is kept"
    narrower = run_module("azure_aks_cluster", dict(ARGS, node_pools=[dict(POOL, max_count=3)]), arm)
    assert narrower["changed"] and arm.writes()[-1][2]["properties"]["agentPoolProfiles"][0]["count"] == 3


def test_vm_size_and_oidc_off_are_refused_before_any_write():
    arm = FakeArm(lro=True)
    run_module("azure_aks_cluster", ARGS, arm)
    arm.log.clear()
    resized = run_module("azure_aks_cluster", dict(ARGS, node_pools=[dict(POOL, vm_size="Standard_D8ds_v5")]), arm)
    assert resized["failed"] and "the VM size of node pool 'system' cannot change" in resized["msg"], resized
    arm.store[CLUSTER.lower()]["properties"]["oidcIssuerProfile"] = {"enabled": True, "issuerURL": "https://i/"}
    off = run_module("azure_aks_cluster", dict(ARGS, oidc_issuer=False, workload_identity=False), arm)
    assert off["failed"] and "cannot turn it off" in off["msg"], off
    assert arm.writes() == []


REFUSED = [
    (dict(workload_identity=True, oidc_issuer=False), "Invalid workload_identity"),
    (dict(identity_id=None), "Invalid kubelet_identity_id"),
    (dict(node_pools=[dict(POOL, min_count=6)]), "Invalid node_pools[system].min_count"),
    (dict(node_pools=[dict(POOL, enable_auto_scaling=False)]), "apply only with autoscaling"),
    (dict(node_pools=[dict(POOL, mode="User")]), "no pool has mode System"),
    (dict(node_pools=[dict(POOL, name="System-1")]), "Invalid node_pools[].name"),
    (dict(dns_service_ip="10.100.0.10"), "Invalid dns_service_ip"),
    (dict(dns_prefix="-aks"), "Invalid dns_prefix"),
    (dict(name="aks/pacs"), "Invalid name"),
    (dict(identity_id=SUBNET), "Invalid identity_id"),
    (dict(dns_prefix=None), "Invalid dns_prefix: it is required"),
]


@pytest.mark.parametrize("change,needle", REFUSED, ids=[n for _, n in REFUSED])
def test_bad_input_is_refused_before_any_request(change, needle):
    arm = FakeArm(lro=True)
    result = run_module("azure_aks_cluster", dict(ARGS, **change), arm)
    assert result.get("failed") and needle in result["msg"], result
    assert arm.log == []


def test_info_writes_the_kubeconfig_privately_and_returns_it_only_when_asked(tmp_path):
    arm = FakeArm()
    arm.put(CLUSTER, {"properties": {"oidcIssuerProfile": {"enabled": True, "issuerURL": "https://issuer/"}}})
    text = "apiVersion: v1\nkind: Config\n"
    original_send = arm.send

    def send(request, **kwargs):  # listClusterUserCredential answers the kubeconfig, base64 as ARM sends it
        if request.url.split("?")[0].endswith("/listClusterUserCredential"):
            arm.log.append((request.method, request.url, None))
            return arm._answer(request, 200, {"kubeconfigs": [{"name": "clusterUser",
                                                               "value": base64.b64encode(text.encode()).decode()}]})
        return original_send(request, **kwargs)
    arm.send = send
    target = str(tmp_path / "kubeconfig")
    args = dict(resource_group="rg", name="aks-pacs", kubeconfig_path=target)
    planned = run_module("azure_aks_cluster_info", args, arm, check_mode=True)
    assert planned["changed"] and not os.path.exists(target)
    written = run_module("azure_aks_cluster_info", args, arm)
    assert written["changed"] and "kubeconfig" not in written and written["oidc_issuer_url"] == "https://issuer/"
    assert open(target).read() == text and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert run_module("azure_aks_cluster_info", args, arm)["changed"] is False
    returned = run_module("azure_aks_cluster_info", dict(resource_group="rg", name="aks-pacs", return_kubeconfig=True),
                          arm)
    assert returned["kubeconfig"] == text


SECRET = dict(vault_uri="https://kv-imaging.vault.azure.net/", name="orthanc-db-password", value="S3cret-Value!")


@pytest.mark.parametrize("change,needle", [
    (dict(name="db_password"), "Invalid name"),
    (dict(vault_uri="http://kv-imaging.vault.azure.net/"), "Invalid vault_uri"),
    (dict(value=None), "Invalid value: it is required"),
    (dict(value="x" * (25 * 1024 + 1)), "larger than 25 KiB"),
    (dict(expires="31/01/2027"), "Invalid expires"),
])
def test_key_vault_secret_input_is_refused_before_any_request(change, needle):
    arm = FakeArm()
    result = run_module("azure_key_vault_secret", dict(SECRET, **change), arm)
    assert result.get("failed") and needle in result["msg"], result
    assert arm.log == [] and "S3cret-Value!" not in repr(result)
