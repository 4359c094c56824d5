"""Every refusal of the lab's Container Apps provider (environments and apps), and what it accepts."""
import copy

import pytest

from lab.azure.container_apps import checks
from lab.azure.web import HttpError

from conftest import ENV, SHARED_KEY, UAI, VNET, VNET_ENV, WORKSPACE_ID

LOGS = {"destination": "log-analytics", "logAnalyticsConfiguration": {"customerId": WORKSPACE_ID,
                                                                      "sharedKey": SHARED_KEY}}


def refusal(call, *args):
    with pytest.raises(HttpError) as caught:
        call(*args)
    assert caught.value.status == 400
    return caught.value.code, caught.value.message


def env_body(**props):
    return {"location": "westeurope", "properties": copy.deepcopy(props)}


def consumption(subnet, **extra):
    return {"vnetConfiguration": {"infrastructureSubnetId": f"{VNET}/subnets/{subnet}", **extra}}


WORKLOAD = [{"name": "Consumption", "workloadProfileType": "Consumption"}]


@pytest.mark.parametrize("props,code,needle", [
    ({"appLogsConfiguration": {"destination": "splunk"}}, "ManagedEnvironmentInvalidAppLogsDestination", "splunk"),
    ({"appLogsConfiguration": {"destination": "log-analytics"}}, "ManagedEnvironmentInvalidLogAnalyticsConfiguration",
     "customerId and sharedKey"),
    ({"appLogsConfiguration": {"destination": "log-analytics", "logAnalyticsConfiguration": {
        "customerId": "99999999-2222-3333-4444-555555555555", "sharedKey": SHARED_KEY}}},
     "ManagedEnvironmentLogAnalyticsWorkspaceNotFound", "customerId"),
    ({"appLogsConfiguration": {"destination": "log-analytics", "logAnalyticsConfiguration": {
        "customerId": WORKSPACE_ID, "sharedKey": "d3Jvbmc="}}}, "ManagedEnvironmentInvalidLogAnalyticsSharedKey",
     "sharedKeys action"),
    (consumption("small"), "ManagedEnvironmentInvalidNetworkConfiguration", "/23 or larger"),
    ({**consumption("tiny"), "workloadProfiles": WORKLOAD}, "ManagedEnvironmentInvalidNetworkConfiguration",
     "/27 or larger"),
    ({**consumption("wp-plain"), "workloadProfiles": WORKLOAD}, "ManagedEnvironmentSubnetIsNotDelegated",
     "Microsoft.App/environments"),
    (consumption("nope"), "InvalidResourceReference", "not found"),
    ({"vnetConfiguration": {"internal": True}}, "ManagedEnvironmentInternalRequiresVnet", "infrastructureSubnetId"),
    ({"zoneRedundant": True}, "ManagedEnvironmentZoneRedundantRequiresVnet", "custom VNet"),
    ({**consumption("wp"), "workloadProfiles": [{"name": "Consumption", "workloadProfileType": "Consumption"},
                                                {"name": "big", "workloadProfileType": "Z99"}]},
     "ManagedEnvironmentInvalidWorkloadProfileType", "Z99"),
    ({**consumption("wp"), "workloadProfiles": [{"name": "d", "workloadProfileType": "D4", "minimumCount": 1,
                                                 "maximumCount": 1}]},
     "ManagedEnvironmentMissingConsumptionProfile", "'Consumption'"),
    ({**consumption("wp"), "workloadProfiles": WORKLOAD + [{"name": "d", "workloadProfileType": "D4",
                                                            "minimumCount": 3, "maximumCount": 1}]},
     "ManagedEnvironmentInvalidWorkloadProfileCount", "minimumCount (3)"),
])
def test_environment_refusals(ctx, props, code, needle):
    found, message = refusal(checks.environment, ctx, env_body(**props), {})
    assert found == code and needle in message, message


def test_environment_accepted_and_the_shared_key_leaves_the_body(ctx):
    body = env_body(appLogsConfiguration=LOGS, zoneRedundant=True, workloadProfiles=WORKLOAD,
                    **consumption("wp", internal=True))
    key, subnet = checks.environment(ctx, body, {})
    assert key == SHARED_KEY and subnet == "10.30.3.0/27"
    assert "sharedKey" not in body["properties"]["appLogsConfiguration"]["logAnalyticsConfiguration"]
    assert checks.environment(ctx, env_body(**consumption("big")), {}) == (None, "10.30.0.0/23")


def test_the_network_of_an_environment_cannot_change(ctx):
    code, _ = refusal(checks.environment, ctx, env_body(**consumption("big")), {"vnetConfiguration": {}})
    assert code == "ManagedEnvironmentCannotUpdateVnetConfiguration"


ORTHANC = [{"name": "orthanc", "image": "orthanc", "resources": {"cpu": 0.5, "memory": "1Gi"}}]


def app_body(env=ENV, containers=None, config=None, identity=None, **props):
    body = {"location": "westeurope", "properties": {
        "managedEnvironmentId": env, "configuration": config or {},
        "template": {"containers": ORTHANC if containers is None else containers}, **props}}
    if identity:
        body["identity"] = identity
    return body


def probe(**spec):
    return {"name": "orthanc", "image": "orthanc", "probes": [spec]}


SYSTEM = {"type": "SystemAssigned", "principalId": "p"}


@pytest.mark.parametrize("kwargs,code,needle", [
    ({"env": ENV + "-missing"}, "ManagedEnvironmentNotFound", "managedEnvironmentId"),
    ({"config": {"activeRevisionsMode": "Double"}}, "ContainerAppInvalidActiveRevisionsMode", "Double"),
    ({"containers": [{"name": "o", "image": "i", "resources": {"cpu": 0.5, "memory": "2Gi"}}]},
     "ContainerAppInvalidResourceTotal", "[cpu: 4.0, memory: 8.0Gi]"),
    ({"containers": [{"name": "o", "image": "i", "resources": {"cpu": 3, "memory": "6Gi"}},
                     {"name": "p", "image": "i", "resources": {"cpu": 1.25, "memory": "2.5Gi"}}]},
     "ContainerAppInvalidResourceTotal", "(CPU: 4.25, memory: 8.5)"),
    ({"containers": [{"name": "o", "image": "i", "resources": {"cpu": 0.5, "memory": "1GB"}}]},
     "ContainerAppInvalidMemoryFormat", "'1GB'"),
    ({"containers": []}, "ContainerAppInvalidTemplate", "at least one"),
    ({"containers": [{"name": "o"}]}, "ContainerAppInvalidTemplate", "image are required"),
    ({"containers": [probe(type="Sometimes", tcpSocket={"port": 1})]}, "ContainerAppInvalidProbe", "Sometimes"),
    ({"containers": [probe(type="Readiness")]}, "ContainerAppInvalidProbe", "exactly one"),
    ({"containers": [probe(type="Readiness", tcpSocket={"port": 1}, periodSeconds=500)]},
     "ContainerAppInvalidProbe", "periodSeconds 500"),
    ({"containers": [{"name": "o", "image": "i", "probes": [{"type": "Liveness", "tcpSocket": {"port": 1}}] * 2}]},
     "ContainerAppInvalidProbe", "only one Liveness"),
    ({"config": {"secrets": [{"name": "Bad_Name", "value": "x"}]}}, "ContainerAppSecretInvalidName", "Bad_Name"),
    ({"config": {"secrets": [{"name": "a", "value": "x"}, {"name": "a", "value": "y"}]}},
     "ContainerAppDuplicateSecretName", "'a'"),
    ({"config": {"secrets": [{"name": "a"}]}}, "ContainerAppSecretInvalid", "listSecrets"),
    ({"config": {"secrets": [{"name": "a", "value": "x", "keyVaultUrl": "https://kv/secrets/a"}]}},
     "ContainerAppSecretInvalid", "not both"),
    ({"config": {"secrets": [{"name": "a", "keyVaultUrl": "https://kv/secrets/a"}]}},
     "ContainerAppSecretInvalid", "needs an identity"),
    ({"config": {"secrets": [{"name": "a", "keyVaultUrl": "https://kv/secrets/a", "identity": "system"}]}},
     "ContainerAppSecretInvalidIdentity", "not assigned"),
    ({"config": {"secrets": [{"name": "a", "keyVaultUrl": "https://kv/secrets/a", "identity": UAI}]},
      "identity": SYSTEM}, "ContainerAppSecretInvalidIdentity", "not assigned"),
    ({"containers": [{"name": "o", "image": "i", "env": [{"name": "X", "secretRef": "nope"}]}]},
     "ContainerAppSecretRefNotFound", "'nope'"),
    ({"config": {"ingress": {"targetPort": 8042, "transport": "quic"}}}, "ContainerAppInvalidIngressTransport",
     "quic"),
    ({"config": {"ingress": {"targetPort": 0}}}, "ContainerAppInvalidIngressTargetPort", "0"),
    ({"config": {"ingress": {"targetPort": 4242, "transport": "tcp", "external": True}}},
     "ContainerAppTcpRequiresVnet", "custom VNET"),
    ({"config": {"ingress": {"targetPort": 8042, "additionalPortMappings": [{"targetPort": 4242,
                                                                            "external": True}]}}},
     "ContainerAppTcpRequiresVnet", "custom VNET"),
    ({"config": {"ingress": {"targetPort": 8042, "exposedPort": 80}}}, "ContainerAppInvalidIngressExposedPort",
     "tcp"),
    ({"config": {"ingress": {"targetPort": 8042, "ipSecurityRestrictions": [
        {"name": "a", "ipAddressRange": "10.0.0.0/8", "action": "Allow"},
        {"name": "b", "ipAddressRange": "192.168.0.0/16", "action": "Deny"}]}}},
     "ContainerAppInvalidIpSecurityRestriction", "same action"),
    ({"config": {"ingress": {"targetPort": 8042, "ipSecurityRestrictions": [
        {"name": "a", "ipAddressRange": "10.0.0.300", "action": "Allow"}]}}},
     "ContainerAppInvalidIpSecurityRestriction", "10.0.0.300"),
    ({"template_scale": {"minReplicas": 3, "maxReplicas": 2}}, "ContainerAppInvalidScaleSpec", "minReplicas (3)"),
    ({"workloadProfileName": "gpu", "env": VNET_ENV}, "ContainerAppInvalidWorkloadProfileName", "'gpu'"),
    ({"containers": [{"name": "o", "image": "i", "resources": {"cpu": "lots", "memory": "1Gi"}}]},
     "ContainerAppInvalidCpu", "'lots'"),
    ({"containers": [probe(type="Readiness", tcpSocket={"port": 1}, periodSeconds="often")]},
     "ContainerAppInvalidProbe", "often"),
    ({"template_scale": {"minReplicas": "1"}}, "ContainerAppInvalidScaleSpec", "minReplicas (1)"),
])
def test_app_refusals(ctx, kwargs, code, needle):
    kwargs = dict(kwargs)
    scale = kwargs.pop("template_scale", None)
    body = app_body(**kwargs)
    if scale:
        body["properties"]["template"]["scale"] = scale
    found, message = refusal(checks.app, ctx, body)
    assert found == code and needle in message, message


def test_every_allowed_consumption_pair_passes(ctx):
    for cpu, memory in checks.PAIRS:
        checks.app(ctx, app_body(containers=[{"name": "o", "image": "i",
                                              "resources": {"cpu": cpu, "memory": f"{memory}Gi"}}]))
    assert len(checks.PAIRS) == 16 and checks.PAIRS[-1] == (4.0, 8.0)


def test_tcp_and_additional_ports_pass_in_a_custom_vnet_and_dedicated_profiles_skip_the_pairs(ctx):
    ingress = {"targetPort": 8042, "external": True, "additionalPortMappings": [{"targetPort": 4242,
                                                                                 "external": True}]}
    env = checks.app(ctx, app_body(env=VNET_ENV, config={"ingress": ingress}, identity={
        "type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {UAI: {}}}, workloadProfileName="d4",
        containers=[{"name": "o", "image": "i", "resources": {"cpu": 3, "memory": "5Gi"}}]))
    assert env["body"]["name"] == "vnet-env"
    checks.app(ctx, app_body(config={"secrets": [
        {"name": "pg-password", "keyVaultUrl": "https://kv.vault.azure.net/secrets/pg", "identity": UAI},
        {"name": "client.secret", "keyVaultUrl": "https://kv.vault.azure.net/secrets/c", "identity": "system"}]},
        identity={"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {UAI: {}}}))
