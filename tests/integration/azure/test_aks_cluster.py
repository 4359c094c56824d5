"""azure_aks_cluster and azure_aks_cluster_info against a private lab emulator (issue 16): create with
workload identity, a user-assigned control-plane and kubelet identity and Azure CNI on a VNet subnet; second run
changed=0 with one GET; check mode writes nothing; autoscaler bounds updated; what AKS refuses; the OIDC issuer
and the user kubeconfig from the lab cluster folder ($LAB_DIR/kube/<name>), or a clear 404 without one.
"""
import os
import stat
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import RequestLog  # noqa: E402
from lab_runner import run  # noqa: E402
from private_lab import module_auth, private_lab  # noqa: E402

TAG = uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def lab_env():
    with private_lab("medimaging-h5aks-") as values:
        yield values


@pytest.fixture(scope="module")
def auth(lab_env):
    return module_auth(lab_env)


@pytest.fixture(scope="module")
def world(lab_env, auth):
    """A group, a VNet with an AKS subnet, and two user-assigned identities (control plane, kubelet)."""
    group = "rg-aks-" + TAG
    location = lab_env["location"]
    assert not run("azure_resource_group", {"name": group, "location": location}, auth).get("failed")
    vnet = run("azure_virtual_network", dict(resource_group=group, name="vnet-aks", location=location,
                                             address_prefixes=["10.50.0.0/16"],
                                             subnets=[dict(name="aks", address_prefix="10.50.0.0/22")]), auth)
    control = run("azure_user_assigned_identity", dict(resource_group=group, name="id-aks", location=location), auth)
    kubelet = run("azure_user_assigned_identity", dict(resource_group=group, name="id-kubelet", location=location),
                  auth)
    assert not (vnet.get("failed") or control.get("failed") or kubelet.get("failed")), (vnet, control, kubelet)
    return {"group": group, "subnet": vnet["subnet_ids"]["aks"], "control": control, "kubelet": kubelet}


def cluster_args(lab_env, world, name, **more):
    args = dict(resource_group=world["group"], name=name, location=lab_env["location"], dns_prefix=name,
                identity_id=world["control"]["id"], kubelet_identity_id=world["kubelet"]["id"],
                network_policy="azure", service_cidr="10.200.0.0/16", dns_service_ip="10.200.0.10",
                key_vault_secrets_provider=dict(enable_secret_rotation=True),
                node_pools=[dict(name="system", vm_size="Standard_D4ds_v5", enable_auto_scaling=True, min_count=2,
                                 max_count=4, vnet_subnet_id=world["subnet"])])
    args.update(more)
    return args


def test_cluster_converges_with_workload_identity_and_kubelet_identity(lab_env, auth, world):
    log = RequestLog(lab_env["request_log"])
    args = cluster_args(lab_env, world, "aks-pacs")
    log.mark()
    planned = run("azure_aks_cluster", args, auth, check_mode=True)
    assert planned["changed"] and not planned.get("failed") and log.writes() == [], planned
    created = run("azure_aks_cluster", args, auth)
    assert created["changed"] and not created.get("failed"), created
    assert created["oidc_issuer_url"] == lab_env["oidc_issuer_base"] + "/aks-aks-pacs", created["oidc_issuer_url"]
    assert created["kubelet_identity"]["client_id"] == world["kubelet"]["client_id"]
    props = created["resource"]["properties"]
    assert props["securityProfile"]["workloadIdentity"]["enabled"] is True
    assert props["addonProfiles"]["azureKeyvaultSecretsProvider"]["config"]["enableSecretRotation"] == "true"
    assert props["agentPoolProfiles"][0]["count"] == 2, "created at min_count"
    log.mark()
    again = run("azure_aks_cluster", args, auth)
    assert again["changed"] is False and log.arm_calls() == [("GET", log.arm_calls()[0][1])], (again, log.arm_calls())
    bigger = dict(args, node_pools=[dict(args["node_pools"][0], max_count=6)])
    log.mark()
    diff = run("azure_aks_cluster", bigger, auth, check_mode=True)
    assert diff["changed"] and log.writes() == [] and "agentPoolProfiles" in repr(diff["diff"]["after"]), diff
    assert run("azure_aks_cluster", bigger, auth)["changed"]
    assert run("azure_aks_cluster", bigger, auth)["changed"] is False
    log.mark()
    resized = run("azure_aks_cluster", dict(bigger, node_pools=[dict(bigger["node_pools"][0], vm_size="Standard_D8ds_v5")]),
                  auth)
    assert resized["failed"] and "cannot change" in resized["msg"] and log.writes() == [], resized
    oidc_off = run("azure_aks_cluster", dict(bigger, oidc_issuer=False, workload_identity=False), auth)
    assert oidc_off["failed"] and "cannot turn it off" in oidc_off["msg"] and log.writes() == [], oidc_off


def test_info_reads_the_kubeconfig_and_issuer_of_the_lab_cluster(lab_env, auth, world, tmp_path):
    folder = os.path.join(lab_env["lab_dir"], "kube", "pacs-lab")
    os.makedirs(folder)
    kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n"
    with open(os.path.join(folder, "kubeconfig"), "w", encoding="utf-8") as handle:
        handle.write(kubeconfig)
    with open(os.path.join(folder, "issuer"), "w", encoding="utf-8") as handle:
        handle.write("https://127.0.0.1:6443/issuer/pacs-lab\n")
    args = cluster_args(lab_env, world, "aks-lab", tags={"lab-cluster": "pacs-lab"})
    created = run("azure_aks_cluster", args, auth)
    assert created["oidc_issuer_url"] == "https://127.0.0.1:6443/issuer/pacs-lab", created
    target = str(tmp_path / "kubeconfig")
    info = run("azure_aks_cluster_info", dict(resource_group=world["group"], name="aks-lab", kubeconfig_path=target),
               auth)
    assert info["changed"] and info["kubeconfig_path"] == target and "kubeconfig" not in info, info
    with open(target, encoding="utf-8") as handle:
        assert handle.read() == kubeconfig
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert run("azure_aks_cluster_info", dict(resource_group=world["group"], name="aks-lab", kubeconfig_path=target),
               auth)["changed"] is False
    returned = run("azure_aks_cluster_info", dict(resource_group=world["group"], name="aks-lab",
                                                  return_kubeconfig=True), auth)
    assert returned["kubeconfig"] == kubeconfig and returned["oidc_issuer_url"] == created["oidc_issuer_url"]


def test_info_without_a_lab_cluster_says_so(lab_env, auth, world):
    run("azure_aks_cluster", cluster_args(lab_env, world, "aks-nolab"), auth)
    info = run("azure_aks_cluster_info", dict(resource_group=world["group"], name="aks-nolab", return_kubeconfig=True),
               auth)
    assert info["failed"] and "No lab cluster backs managed cluster 'aks-nolab'" in info["msg"], info
    missing = run("azure_aks_cluster_info", dict(resource_group=world["group"], name="aks-missing"), auth)
    assert missing["exists"] is False and not missing.get("failed"), missing


@pytest.mark.parametrize("change,code", [
    ({"agentPoolProfiles": [{"name": "user", "vmSize": "Standard_D2ds_v5", "mode": "User", "count": 1}]},
     "MustDefineAtLeastOneSystemPool"),
    ({"securityProfile": {"workloadIdentity": {"enabled": True}}, "oidcIssuerProfile": {"enabled": False}},
     "BadRequest"),
    ({"agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D2ds_v5", "mode": "System", "count": 1,
                             "minCount": 1}]}, "InvalidParameter"),
    ({"networkProfile": {"networkPlugin": "flannel"}}, "InvalidParameter"),
    ({"unknownSetting": True}, "InvalidRequestContent"),
])
def test_emulator_refuses_what_aks_refuses(lab_env, world, change, code):
    from azure.core.exceptions import HttpResponseError
    from azure.identity import ClientSecretCredential
    from azure.mgmt.containerservice import ContainerServiceClient
    credential = ClientSecretCredential(lab_env["tenant_id"], lab_env["client_id"], lab_env["client_secret"],
                                        authority=lab_env["authority_host"], disable_instance_discovery=True)
    client = ContainerServiceClient(credential, lab_env["subscription_id"], base_url=lab_env["arm_endpoint"],
                                    credential_scopes=["https://management.azure.com/.default"], polling_interval=0)
    properties = {"dnsPrefix": "refused", "agentPoolProfiles": [
        {"name": "system", "vmSize": "Standard_D2ds_v5", "mode": "System", "count": 1}]}
    properties.update(change)
    with pytest.raises(HttpResponseError) as caught:
        client.managed_clusters.begin_create_or_update(world["group"], "aks-refused", {
            "location": lab_env["location"], "identity": {"type": "SystemAssigned"}, "properties": properties}).result()
    assert caught.value.error.code == code, caught.value.message


def test_workload_identity_through_the_cluster_issuer(lab_env, auth, world, tmp_path):
    """The issuer URL the module returns is one a federated credential can trust: a service-account token from it
    is exchanged for the identity's Entra token (as the Orthanc plugin does in the pod)."""
    import jwt
    import requests
    from azure.identity import ClientSecretCredential, WorkloadIdentityCredential
    cluster = run("azure_aks_cluster", cluster_args(lab_env, world, "aks-wi"), auth)
    issuer = cluster["oidc_issuer_url"]
    identity = run("azure_user_assigned_identity", dict(resource_group=world["group"], name="id-orthanc",
                                                        location=lab_env["location"]), auth)
    trusted = run("azure_federated_identity_credential", dict(
        resource_group=world["group"], identity="id-orthanc", name="aks-wi-orthanc", issuer=issuer,
        subject="system:serviceaccount:pacs:orthanc"), auth)
    assert trusted["changed"] and not trusted.get("failed"), trusted
    admin = ClientSecretCredential(lab_env["tenant_id"], lab_env["client_id"], lab_env["client_secret"],
                                   authority=lab_env["authority_host"], disable_instance_discovery=True)
    minted = requests.post(issuer + "/token", json={"subject": "system:serviceaccount:pacs:orthanc"}, timeout=30,
                           headers={"Authorization": "Bearer " + admin.get_token(
                               "https://management.azure.com/.default").token})
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(minted.json()["token"])
    credential = WorkloadIdentityCredential(tenant_id=lab_env["tenant_id"], client_id=identity["client_id"],
                                            token_file_path=str(token_file), authority=lab_env["authority_host"],
                                            disable_instance_discovery=True)
    token = credential.get_token("https://dicom.healthcareapis.azure.com/.default").token
    assert jwt.decode(token, options={"verify_signature": False})["oid"] == identity["principal_id"]
