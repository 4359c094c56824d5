"""The Arc modules in-process against the in-memory ARM: the bodies they send, the no-op, what they refuse before
any request, and the protected settings that never show."""
import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fake_arm import FakeArm, SUBSCRIPTION
from module_runner import run_module

RG = "/subscriptions/%s/resourceGroups/rg" % SUBSCRIPTION
CLUSTER = RG + "/providers/Microsoft.Kubernetes/connectedClusters/ocp"
KEY = base64.b64encode(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
CONNECT = dict(resource_group="rg", name="ocp", location="westeurope", agent_public_key=KEY, distribution="openshift")
PRIVILEGED = "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4"


def arm_with_cluster():
    arm = FakeArm(lro=True)
    run_module("azure_arc_connected_cluster", CONNECT, arm)
    arm.log.clear()
    return arm


def test_connected_cluster_body_no_op_and_key_that_cannot_change():
    arm = FakeArm(lro=True)
    done = run_module("azure_arc_connected_cluster", dict(CONNECT, oidc_issuer=True, workload_identity=True), arm)
    assert done["changed"] and done["id"] == CLUSTER
    body = arm.writes()[0][2]
    assert body["identity"] == {"type": "SystemAssigned"}
    assert body["properties"] == {"agentPublicKeyCertificate": KEY, "distribution": "openshift",
                                  "infrastructure": "generic", "oidcIssuerProfile": {"enabled": True},
                                  "securityProfile": {"workloadIdentity": {"enabled": True}}}
    arm.store[CLUSTER.lower()]["properties"]["connectivityStatus"] = "Connected"   # the agents reported
    arm.log.clear()
    again = run_module("azure_arc_connected_cluster", dict(CONNECT, oidc_issuer=True, workload_identity=True), arm)
    assert not again["changed"] and again["connectivity_status"] == "Connected" and arm.writes() == []
    other = base64.b64encode(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    moved = run_module("azure_arc_connected_cluster", dict(CONNECT, agent_public_key=other, oidc_issuer=True,
                                                           workload_identity=True), arm)
    assert moved["failed"] and "agentPublicKeyCertificate cannot be changed" in moved["msg"]
    off = run_module("azure_arc_connected_cluster", CONNECT, arm)
    assert off["failed"] and "cannot turn it off" in off["msg"] and arm.writes() == []


def test_absent_in_check_mode_reads_only_and_names_the_id():
    arm = arm_with_cluster()
    found = run_module("azure_arc_connected_cluster", dict(resource_group="rg", name="ocp", state="absent"), arm,
                       check_mode=True)
    assert found["changed"] and found["id"] == CLUSTER and arm.writes() == []


@pytest.mark.parametrize("module, args, message", [
    ("azure_arc_connected_cluster", dict(CONNECT, workload_identity=True), "Invalid workload_identity"),
    ("azure_arc_connected_cluster", dict(CONNECT, agent_public_key="-----BEGIN PUBLIC KEY-----"),
     "Invalid agent_public_key"),
    ("azure_arc_connected_cluster", dict(CONNECT, name="-bad"), "Invalid name"),
    ("azure_arc_connected_cluster", dict(CONNECT, agent_public_key=None), "Invalid agent_public_key"),
    ("azure_arc_cluster_extension", dict(name="Bad_Name", extension_type="microsoft.flux"), "Invalid name"),
    ("azure_arc_cluster_extension", dict(name="x", extension_type="t", release_namespace="a", target_namespace="b"),
     "Invalid target_namespace"),
    ("azure_arc_cluster_extension", dict(name="x", extension_type="t", version="1.2.3"), "Invalid version"),
    ("azure_arc_cluster_extension", dict(name="x", extension_type="t", configuration_settings={"a": {"b": 1}}),
     "Azure takes strings only"),
    ("azure_flux_configuration", dict(name="f", url="ftp://x", branch="main", kustomizations=[{"name": "a"}]),
     "Invalid url"),
    ("azure_flux_configuration", dict(name="f", url="https://g/r.git", branch="main", tag="v1",
                                      kustomizations=[{"name": "a"}]), "exactly one of branch, tag"),
    ("azure_flux_configuration", dict(name="f", url="https://g/r.git", branch="main",
                                      kustomizations=[{"name": "a", "depends_on": ["b"]}]), "is not another"),
    ("azure_flux_configuration", dict(name="f", url="http://g/r.git", branch="main", https_user="u", https_key="k",
                                      kustomizations=[{"name": "a"}]), "Invalid https_user"),
    ("azure_policy_assignment", dict(scope=CLUSTER, name="bad/name", policy_definition_id=PRIVILEGED),
     "Invalid name"),
    ("azure_policy_assignment", dict(scope="/clusters/x", name="p", policy_definition_id=PRIVILEGED),
     "Invalid scope"),
    ("azure_policy_assignment", dict(scope=CLUSTER, name="p", policy_definition_id="95edb821"),
     "Invalid policy_definition_id"),
])
def test_refused_before_any_request(module, args, message):
    if module in ("azure_arc_cluster_extension", "azure_flux_configuration"):
        args = dict(args, resource_group="rg", cluster_name="ocp")
    arm = FakeArm(lro=True)
    done = run_module(module, args, arm)
    assert done["failed"] and message in done["msg"], done
    assert arm.log == []


def test_extension_protected_settings_are_sent_never_shown_and_not_compared():
    arm = arm_with_cluster()
    args = dict(resource_group="rg", cluster_name="ocp", name="azuremonitor-containers",
                extension_type="Microsoft.AzureMonitor.Containers",
                configuration_settings={"logAnalyticsWorkspaceResourceID": RG + "/w", "amalogs.enabled": True},
                configuration_protected_settings={"omsagent.secret.key": "s3cret"})
    done = run_module("azure_arc_cluster_extension", args, arm)
    sent = arm.writes()[0][2]["properties"]
    assert sent["configurationProtectedSettings"] == {"omsagent.secret.key": "s3cret"}
    assert sent["configurationSettings"]["amalogs.enabled"] == "true"
    assert "s3cret" not in str(done)
    stored = [k for k in arm.store if "/extensions/" in k][0]
    arm.store[stored]["properties"].pop("configurationProtectedSettings")     # Azure never returns them
    arm.log.clear()
    assert not run_module("azure_arc_cluster_extension", args, arm)["changed"] and arm.writes() == []
    arm.lro = 202      # the extensions RP answers a PATCH with 202 (+ Azure-AsyncOperation and Location)
    rotated = run_module("azure_arc_cluster_extension", dict(args, update_protected_settings=True), arm)
    assert rotated["changed"] and arm.writes()[-1][0] == "PATCH"
    assert arm.writes()[-1][2]["properties"]["configurationProtectedSettings"] == {"omsagent.secret.key": "s3cret"}
    assert "s3cret" not in str(rotated)
    moved = run_module("azure_arc_cluster_extension", dict(args, extension_type="microsoft.flux"), arm)
    assert moved["failed"] and "properties.extensionType cannot be changed" in moved["msg"]


def test_flux_kustomizations_are_exact_and_defaults_filled_by_azure_are_ignored():
    arm = arm_with_cluster()
    args = dict(resource_group="rg", cluster_name="ocp", name="pacs", url="https://g/r.git", branch="main",
                https_user="git", https_key="token",
                kustomizations=[{"name": "infra", "path": "./infra"}, {"name": "apps", "path": "./apps",
                                                                       "depends_on": ["infra"]}])
    run_module("azure_flux_configuration", args, arm)
    sent = arm.writes()[0][2]["properties"]
    assert sent["configurationProtectedSettings"] == {"httpsKey": base64.b64encode(b"token").decode()}
    assert sent["gitRepository"]["repositoryRef"] == {"branch": "main"}
    stored = arm.store[[k for k in arm.store if "/fluxconfigurations/" in k][0]]
    stored["properties"].pop("configurationProtectedSettings")
    for item in stored["properties"]["kustomizations"].values():              # what Azure fills in
        item.update(timeoutInSeconds=600, retryIntervalInSeconds=None, force=False)
    stored["properties"]["gitRepository"]["repositoryRef"].update(tag=None, semver=None, commit=None)
    arm.log.clear()
    assert not run_module("azure_flux_configuration", args, arm)["changed"] and arm.writes() == []
    fewer = run_module("azure_flux_configuration", dict(args, kustomizations=[{"name": "infra", "path": "./infra"}]),
                       arm)
    assert fewer["changed"] and list(arm.writes()[-1][2]["properties"]["kustomizations"]) == ["infra"]


def test_policy_parameters_are_wrapped_and_compared_exactly():
    arm = arm_with_cluster()
    args = dict(scope=CLUSTER, name="no-privileged-containers", policy_definition_id=PRIVILEGED,
                parameters={"effect": "deny", "excludedNamespaces": ["kube-system"]})
    run_module("azure_policy_assignment", args, arm)
    path, body = arm.writes()[0][1:]
    assert path.endswith(CLUSTER + "/providers/Microsoft.Authorization/policyAssignments/no-privileged-containers")
    assert body["properties"]["parameters"] == {"effect": {"value": "deny"},
                                                "excludedNamespaces": {"value": ["kube-system"]}}
    arm.log.clear()
    assert not run_module("azure_policy_assignment", args, arm)["changed"] and arm.writes() == []
    fewer = run_module("azure_policy_assignment", dict(args, parameters={"effect": "deny"}), arm)
    assert fewer["changed"] and arm.writes()[-1][2]["properties"]["parameters"] == {"effect": {"value": "deny"}}
    other = run_module("azure_policy_assignment", dict(args, policy_definition_id=PRIVILEGED.replace("95", "96")),
                       arm)
    assert other["failed"] and "policyDefinitionId cannot be changed" in other["msg"]


@pytest.mark.parametrize("module, args", [
    ("azure_arc_connected_cluster", dict(CONNECT, name="ocp2")),
    ("azure_arc_connected_cluster", dict(resource_group="rg", name="ocp", state="absent")),
    ("azure_arc_cluster_extension", dict(resource_group="rg", cluster_name="ocp", name="flux",
                                         extension_type="microsoft.flux")),
    ("azure_flux_configuration", dict(resource_group="rg", cluster_name="ocp", name="f", url="https://g/r.git",
                                      branch="main", kustomizations=[{"name": "a"}])),
    ("azure_policy_assignment", dict(scope=CLUSTER, name="p", policy_definition_id=PRIVILEGED)),
])
def test_check_mode_reports_the_change_and_writes_nothing(module, args):
    arm = arm_with_cluster()
    done = run_module(module, args, arm, check_mode=True)
    assert done["changed"] and arm.writes() == [], done
