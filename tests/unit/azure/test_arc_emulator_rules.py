"""The emulator's Arc, KubernetesConfiguration and Policy behaviours refuse what Azure refuses (prepare() on a body,
before anything is stored), and the agents' proof of possession of the onboarding key."""
import base64
import os
import re
import sys
import time
import types

import pytest
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, REPO_ROOT)
from lab.azure.behaviours import arc, kubernetes_configuration, policy  # noqa: E402
from lab.azure.web import HttpError  # noqa: E402

CLUSTER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/ocp"
KCFG = CLUSTER + "/providers/Microsoft.KubernetesConfiguration/"
PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=1024)
PUBLIC_DER = PRIVATE.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)


class Store:
    def __init__(self, *records):
        self.records = {r["body"]["id"].lower(): r for r in records}

    def resources(self, keep):
        return [r for r in self.records.values() if keep(r)]

    def get_resource(self, resource_id):
        return self.records.get(resource_id.lower())

    def update_body(self, resource_id, mutate):
        record = self.records[resource_id.lower()]
        mutate(record["body"], record.setdefault("private", {}))


def ctx(*records, tmp="/nonexistent"):
    return types.SimpleNamespace(store=Store(*records), facts={"tenantId": "t"}, base_url="https://emulator",
                                 layout=types.SimpleNamespace(root=tmp))


def record(resource_id, props, **top):
    return {"body": dict({"id": resource_id, "name": resource_id.rsplit("/", 1)[-1], "properties": props}, **top),
            "private": {}}


def refused(behaviour, body_record, previous=None, context=None):
    with pytest.raises(HttpError) as caught:
        behaviour.prepare(context or ctx(), body_record, previous)
    return caught.value


def connected(**props):
    return record(CLUSTER, dict({"agentPublicKeyCertificate": base64.b64encode(PUBLIC_DER).decode(),
                                 "distribution": "openshift"}, **props), identity={"type": "SystemAssigned"})


def test_a_new_connected_cluster_is_connecting_and_keeps_what_its_agents_reported():
    fresh = connected()
    arc.ConnectedCluster().prepare(ctx(), fresh, None)
    assert fresh["body"]["properties"]["connectivityStatus"] == "Connecting"
    old = connected(connectivityStatus="Connected", agentVersion="1.2")
    again = connected()
    arc.ConnectedCluster().prepare(ctx(), again, old)
    assert again["body"]["properties"]["connectivityStatus"] == "Connected"
    assert again["body"]["properties"]["agentVersion"] == "1.2"


@pytest.mark.parametrize("change, words", [
    (dict(agentPublicKeyCertificate=base64.b64encode(b"0\x82 not a key").decode()), "RSA public key"),
    (dict(infrastructure="mainframe"), "infrastructure"),
    (dict(securityProfile={"workloadIdentity": {"enabled": True}}), "requires enabling the OIDC issuer"),
])
def test_connected_cluster_refusals(change, words):
    assert words in refused(arc.ConnectedCluster(), connected(**change)).message


def test_the_oidc_issuer_cannot_be_turned_off():
    old = connected(oidcIssuerProfile={"enabled": True})
    error = refused(arc.ConnectedCluster(), connected(oidcIssuerProfile={"enabled": False}), old)
    assert error.code == "PropertyChangeNotAllowed"


def test_pkcs1_keys_are_read_too():
    pkcs1 = PRIVATE.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    assert arc.agent_key(base64.b64encode(pkcs1).decode()).public_numbers() == PRIVATE.public_key().public_numbers()


def report(stamp, key=PRIVATE):
    signature = key.sign(arc.signed_message(CLUSTER, stamp), padding.PKCS1v15(), hashes.SHA256())
    return types.SimpleNamespace(json_object=lambda: {"resourceId": CLUSTER, "timestamp": stamp, "nodeCount": 3,
                                                      "signature": base64.b64encode(signature).decode()})


def test_agents_connect_with_the_key_only():
    cluster = connected(connectivityStatus="Connecting")
    cluster["body"]["type"] = "Microsoft.Kubernetes/connectedClusters"
    context = ctx(cluster)
    now = int(time.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for bad in (report(now, stranger), report(now - 3600)):
        with pytest.raises(HttpError) as caught:
            arc.agent_check_in(context, bad)
        assert caught.value.status == 401
    assert cluster["body"]["properties"]["connectivityStatus"] == "Connecting"
    assert arc.agent_check_in(context, report(now)).status == 200
    assert cluster["body"]["properties"]["connectivityStatus"] == "Connected"
    assert cluster["body"]["properties"]["totalNodeCount"] == 3
    with pytest.raises(HttpError):
        arc.agent_check_in(context, report(now))          # replayed


FLUX_EXT = record(KCFG + "extensions/flux", {"extensionType": "microsoft.flux"})


@pytest.mark.parametrize("props, words", [
    ({"extensionType": "Contoso.Miner"}, "not an extension type offered"),
    ({"extensionType": "microsoft.flux", "scope": {"namespace": {"targetNamespace": "x"}}}, "cluster-wide"),
    ({"extensionType": "microsoft.dapr", "scope": {"cluster": {}, "namespace": {}}}, "either cluster or namespace"),
    ({"extensionType": "microsoft.flux", "version": "1.0.0"}, "autoUpgradeMinorVersion false"),
    ({"extensionType": "microsoft.flux", "releaseTrain": "nightly"}, "releaseTrain"),
])
def test_extension_refusals(props, words):
    assert words in refused(kubernetes_configuration.Extension(), record(KCFG + "extensions/e", props)).message


def test_extension_type_cannot_change_and_protected_settings_are_kept_aside():
    new = record(KCFG + "extensions/e", {"extensionType": "microsoft.flux",
                                         "configurationProtectedSettings": {"k": "secret"}})
    kubernetes_configuration.Extension().prepare(ctx(), new, None)
    assert "configurationProtectedSettings" not in new["body"]["properties"]
    assert new["private"]["configurationProtectedSettings"] == {"k": "secret"}
    moved = record(KCFG + "extensions/e", {"extensionType": "microsoft.dapr"})
    assert refused(kubernetes_configuration.Extension(), moved, new).code == "PropertyChangeNotAllowed"


def flux(**props):
    base = {"gitRepository": {"url": "https://g/r.git", "repositoryRef": {"branch": "main"}},
            "kustomizations": {"apps": {"path": "./apps"}}}
    base.update(props)
    return record(KCFG + "fluxConfigurations/f", base)


@pytest.mark.parametrize("body, words", [
    (flux(gitRepository={"url": "ftp://g", "repositoryRef": {"branch": "main"}}), "not a Git URL"),
    (flux(gitRepository={"url": "https://g", "repositoryRef": {"branch": "a", "tag": "b"}}), "exactly one"),
    (flux(kustomizations={"apps": {"dependsOn": ["infra"]}}), "not another kustomization"),
    (flux(sourceKind="Bucket"), "needs its properties.bucket"),
    (flux(configurationProtectedSettings={"httpsKey": "not base64!"}), "base64"),
])
def test_flux_refusals(body, words):
    assert words in refused(kubernetes_configuration.FluxConfiguration(), body, context=ctx(FLUX_EXT)).message


def test_flux_needs_the_flux_extension_and_keeps_its_namespace():
    assert refused(kubernetes_configuration.FluxConfiguration(), flux()).code == "FluxExtensionNotFound"
    first = flux()
    kubernetes_configuration.FluxConfiguration().prepare(ctx(FLUX_EXT), first, None)
    assert first["body"]["properties"]["complianceState"] == "Pending"
    moved = flux(namespace="elsewhere")
    assert refused(kubernetes_configuration.FluxConfiguration(), moved, first,
                   ctx(FLUX_EXT)).code == "PropertyChangeNotAllowed"


LIMITS = "/providers/Microsoft.Authorization/policyDefinitions/e345eecc-fa47-480f-9e88-67dcc122b164"


def assignment(name="limits", **props):
    return record(CLUSTER + "/providers/Microsoft.Authorization/policyAssignments/" + name,
                  dict({"policyDefinitionId": LIMITS, "parameters": {"cpuLimit": {"value": "2"},
                                                                     "memoryLimit": {"value": "4Gi"}}}, **props))


@pytest.mark.parametrize("body, code", [
    (assignment(policyDefinitionId=LIMITS.replace("e345", "f345")), "PolicyDefinitionNotFound"),
    (assignment(parameters={"cpuLimit": {"value": "2"}}), "MissingPolicyParameter"),
    (assignment(parameters={"cpuLimit": {"value": "2"}, "memoryLimit": {"value": "4Gi"}, "cpu": {"value": 1}}),
     "UndefinedPolicyParameter"),
    (assignment(parameters={"cpuLimit": {"value": 2}, "memoryLimit": {"value": "4Gi"}}), "InvalidPolicyParameterValue"),
    (assignment(parameters={"cpuLimit": "2", "memoryLimit": {"value": "4Gi"}}), "InvalidPolicyParameters"),
    (assignment(parameters={"cpuLimit": {"value": "2"}, "memoryLimit": {"value": "4Gi"}, "effect": {"value": "Block"}}),
     "InvalidPolicyParameterValue"),
    (assignment(enforcementMode="Sometimes"), "BadRequest"),
    (assignment(name="ends-with-dot."), "InvalidPolicyAssignmentName"),
])
def test_policy_refusals(body, code):
    assert refused(policy.PolicyAssignment(), body).code == code


def test_policy_scope_is_the_path_and_the_definition_cannot_change():
    first = assignment()
    policy.PolicyAssignment().prepare(ctx(), first, None)
    assert first["body"]["properties"]["scope"] == CLUSTER
    other = assignment(policyDefinitionId="/providers/Microsoft.Authorization/policyDefinitions/"
                                          "95edb821-ddaf-4404-9732-666045e056b4", parameters={})
    assert refused(policy.PolicyAssignment(), other, first).code == "InvalidPolicyAssignmentUpdate"


def test_the_roles_default_guardrails_are_assignments_azure_takes():
    """arc_onboard's default policy assignments, their "{{ var }}" parameters resolved from the same defaults file,
    pass the emulator's rules for the built-in definitions (the integration test assigns only one of them)."""
    with open(os.path.join(REPO_ROOT, "roles", "arc_onboard", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)

    def resolve(value):
        found = isinstance(value, str) and re.fullmatch(r"\{\{ (\w+) \}\}", value)
        return defaults[found.group(1)] if found else value
    for item in defaults["arc_onboard_policy_assignments"]:
        body = assignment(name=item["name"], policyDefinitionId=item["policy_definition_id"],
                          parameters={k: {"value": resolve(v)} for k, v in item["parameters"].items()})
        policy.PolicyAssignment().prepare(ctx(), body, None)
    names = [item["name"] for item in defaults["arc_onboard_policy_assignments"]]
    assert names == ["no-privileged-containers", "resource-limits-required", "no-latest-image-tags"]
