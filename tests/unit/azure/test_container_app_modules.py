"""Container Apps and Log Analytics modules in-process against the in-memory ARM (issue 17): bodies, the CPU/memory
pairs refused before any request, secrets kept across an update that does not give them (listSecrets, as
`az containerapp update`), secret values never in a diff or result, and the shared key of the Log Analytics link."""
import copy
import json

import pytest

from fake_arm import FakeArm, SUBSCRIPTION
from module_runner import run_module

RG = "/subscriptions/%s/resourceGroups/rg" % SUBSCRIPTION
APP = RG + "/providers/Microsoft.App/containerApps/orthanc"
ENV_ID = RG + "/providers/Microsoft.App/managedEnvironments/cae-pacs"
WS_ID = RG + "/providers/Microsoft.OperationalInsights/workspaces/log-pacs"
IDENTITY = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orthanc"
KV_URL = "https://kv-pacs.vault.azure.net/secrets/pg-password"
PLAIN = "s3cret-value-never-shown"
SHARED_KEY = "shared-key-never-shown=="


class SecretKeepingArm(FakeArm):
    """Answers as Container Apps does: secret values are kept aside, never on GET; listSecrets returns them.
    A Log Analytics workspace has a customer id and answers sharedKeys."""

    def __init__(self):
        super().__init__(lro=True)
        self.values = {}

    def send(self, request, **kwargs):
        path = request.path_url.split("?")[0]
        if request.method == "POST" and path.endswith("/listSecrets"):
            self.log.append(("POST", path, None))
            app = self.store.get(path[:-len("/listSecrets")].lower()) or {}
            secrets = app.get("properties", {}).get("configuration", {}).get("secrets") or []
            return self._answer(request, 200, {"value": [dict(s, value=self.values.get(s["name"])) for s in secrets
                                                         if "keyVaultUrl" not in s]})
        if request.method == "POST" and path.endswith("/sharedKeys"):
            self.log.append(("POST", path, None))
            return self._answer(request, 200, {"primarySharedKey": SHARED_KEY, "secondarySharedKey": "other"})
        if request.method == "PUT" and "/containerapps/" in path.lower():
            body = json.loads(request.body)
            for secret in body.get("properties", {}).get("configuration", {}).get("secrets") or []:
                if "value" in secret:
                    self.values[secret["name"]] = secret["value"]
            answer = super().send(request, **kwargs)
            for secret in self.store[path.lower()]["properties"]["configuration"].get("secrets") or []:
                secret.pop("value", None)
            self.store[path.lower()]["properties"]["configuration"]["ingress"] = dict(
                self.store[path.lower()]["properties"]["configuration"].get("ingress") or {},
                fqdn="orthanc.example.azurecontainerapps.io")
            return answer
        if request.method == "PUT" and "/workspaces/" in path.lower():
            answer = super().send(request, **kwargs)
            self.store[path.lower()]["properties"]["customerId"] = "11111111-2222-3333-4444-555555555555"
            return answer
        return super().send(request, **kwargs)


def app_args(**extra):
    args = dict(
        resource_group="rg", name="orthanc", location="westeurope", environment="cae-pacs",
        user_assigned_identities=[IDENTITY], revisions_mode="Single",
        secrets=[dict(name="pg-password", key_vault_url=KV_URL, identity=IDENTITY),
                 dict(name="admin-password", value=PLAIN)],
        ingress=dict(external=True, target_port=8042,
                     ip_security_restrictions=[dict(name="hospital", ip_address_range="203.0.113.0/24",
                                                    action="Allow")],
                     additional_port_mappings=[dict(external=False, target_port=4242)]),
        containers=[dict(name="orthanc", image="orthanc:1", cpu=0.5, memory="1Gi",
                         env=[dict(name="ORTHANC__POSTGRESQL__PASSWORD", secret_ref="pg-password"),
                              dict(name="ORTHANC__NAME", value="PACS")],
                         probes=[dict(type="Liveness", http_get=dict(path="/system", port=8042),
                                      period_seconds=10)])],
        min_replicas=1, max_replicas=1)
    args.update(extra)
    return args


@pytest.fixture
def arm():
    arm = SecretKeepingArm()
    arm.put(ENV_ID, {"location": "westeurope"})
    return arm


def sent(arm, method="PUT"):
    return [body for m, path, body in arm.log if m == method and "/containerapps/" in path.lower()]


def test_create_sends_the_rest_body_with_values_then_a_noop_is_one_get_and_one_listsecrets(arm):
    result = run_module("azure_container_app", app_args(), arm)
    assert result["changed"] and "failed" not in result, result
    body = sent(arm)[0]
    props = body["properties"]
    assert props["environmentId"] == ENV_ID
    assert props["configuration"]["secrets"] == [
        {"name": "pg-password", "keyVaultUrl": KV_URL, "identity": IDENTITY},
        {"name": "admin-password", "value": PLAIN}]
    assert props["configuration"]["ingress"]["ipSecurityRestrictions"][0]["ipAddressRange"] == "203.0.113.0/24"
    assert props["configuration"]["ingress"]["additionalPortMappings"] == [{"external": False, "targetPort": 4242}]
    container = props["template"]["containers"][0]
    assert container["resources"] == {"cpu": 0.5, "memory": "1Gi"}
    assert container["probes"][0] == {"type": "Liveness", "httpGet": {"path": "/system", "port": 8042},
                                      "periodSeconds": 10}
    assert body["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}}
    assert props["template"]["scale"] == {"minReplicas": 1, "maxReplicas": 1}
    assert result["url"] == "https://orthanc.example.azurecontainerapps.io"
    assert PLAIN not in json.dumps(result)

    arm.log.clear()
    again = run_module("azure_container_app", app_args(), arm)
    assert again["changed"] is False, again["diff"]
    # the plain value is compared through listSecrets, in memory
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in arm.log] == [("GET", "orthanc"), ("POST", "listSecrets")]


def test_an_update_of_other_fields_keeps_the_secret_values_azure_never_returns(arm):
    run_module("azure_container_app", app_args(), arm)
    arm.log.clear()
    # the task no longer lists secrets (unset: keep them) and changes the image
    args = app_args(secrets=None)
    args["containers"][0]["image"] = "orthanc:2"
    result = run_module("azure_container_app", args, arm)
    assert result["changed"], result
    body = sent(arm)[0]
    assert {"name": "admin-password", "value": PLAIN} in body["properties"]["configuration"]["secrets"]
    assert {"name": "pg-password", "keyVaultUrl": KV_URL, "identity": IDENTITY} in \
        body["properties"]["configuration"]["secrets"]
    assert result["diff"]["after"]["properties"]["template"]["containers"][0]["image"] == "orthanc:2"
    assert PLAIN not in json.dumps(result)


def test_a_rotated_plain_value_is_a_change_shown_without_either_value(arm):
    run_module("azure_container_app", app_args(), arm)
    arm.log.clear()
    args = app_args()
    args["secrets"][1]["value"] = "the-new-value-never-shown"
    check = run_module("azure_container_app", args, arm, check_mode=True)
    assert check["changed"] and not sent(arm), check
    text = json.dumps(check)
    assert PLAIN not in text and "the-new-value-never-shown" not in text
    assert "a different value" in json.dumps(check["diff"]["before"])
    result = run_module("azure_container_app", args, arm)
    assert result["changed"] and arm.values["admin-password"] == "the-new-value-never-shown"


def test_key_vault_only_secrets_need_no_listsecrets_on_a_noop(arm):
    args = app_args(secrets=[dict(name="pg-password", key_vault_url=KV_URL, identity=IDENTITY)])
    run_module("azure_container_app", args, arm)
    arm.log.clear()
    assert run_module("azure_container_app", args, arm)["changed"] is False
    assert [m for m, _, _ in arm.log] == ["GET"]


@pytest.mark.parametrize("containers, profile, words", [
    ([dict(cpu=0.5, memory="2Gi")], None, "0.5 vCPU and 2Gi"),
    ([dict(cpu=1.5, memory="3Gi"), dict(cpu=1.0, memory="2Gi")], None, "2.5 vCPU and 5Gi"),
    ([dict(cpu=3.0, memory="6Gi")], None, "one of 0.25/0.5Gi"),
    ([dict(cpu=0.3, memory="0.6Gi")], "Consumption", "Consumption workload profile"),
    ([dict(cpu=1.0, memory="2GB")], None, "memory in Gi"),
])
def test_cpu_memory_pairs_azure_refuses_fail_before_any_request(arm, containers, profile, words):
    args = app_args(workload_profile_name=profile, containers=[
        dict(c, name="c%d" % i, image="orthanc:1") for i, c in enumerate(containers)])
    arm.log.clear()
    result = run_module("azure_container_app", args, arm)
    assert result["failed"] and words in result["msg"], result["msg"]
    assert arm.log == []


def test_allowed_pairs_pass_including_the_consumption_profile_up_to_four_vcpu(arm):
    for cpu, memory, profile in ((0.25, "0.5Gi", None), (2.0, "4Gi", None), (4.0, "8Gi", "Consumption"),
                                 (3.0, "7Gi", "D4")):
        args = app_args(workload_profile_name=profile,
                        containers=[dict(name="orthanc", image="orthanc:1", cpu=cpu, memory=memory)])
        result = run_module("azure_container_app", args, arm, check_mode=True)
        assert "failed" not in result, (cpu, memory, result)


@pytest.mark.parametrize("change, words", [
    (dict(secrets=[dict(name="pg-password", value="plain-never-shown", key_vault_url=KV_URL, identity=IDENTITY)]), "exactly one"),
    (dict(secrets=[dict(name="pg-password", key_vault_url=KV_URL)]), "needs identity"),
    (dict(secrets=[dict(name="pg-password", key_vault_url="http://kv/secrets/x", identity=IDENTITY)]), "https://"),
    (dict(secrets=[dict(name="Bad_Name", value="plain-never-shown")]), "lower-case"),
    (dict(secrets=[]), "names no secret"),
    (dict(ingress=dict(target_port=8042, ip_security_restrictions=[
        dict(name="a", ip_address_range="10.0.0.0/8", action="Allow"),
        dict(name="b", ip_address_range="10.1.0.0/16", action="Deny")])), "one action"),
    (dict(ingress=dict(target_port=8042, additional_port_mappings=[
        dict(external=False, target_port=4000 + i) for i in range(6)])), "at most 5"),
    (dict(min_replicas=3, max_replicas=2), "above max_replicas"),
    (dict(containers=[dict(name="o", image="i", cpu=0.5, memory="1Gi", probes=[
        dict(type="Startup", tcp_socket=dict(port=8042), failure_threshold=30)])]), "failure_threshold must be 1-10"),
    (dict(containers=[dict(name="o", image="i", cpu=0.5, memory="1Gi", probes=[dict(type="Liveness")])]),
     "exactly one of http_get or tcp_socket"),
    (dict(name="Orthanc_App"), "naming rule"),
])
def test_bad_input_fails_before_any_request_and_names_it(arm, change, words):
    arm.log.clear()
    result = run_module("azure_container_app", app_args(**change), arm)
    assert result["failed"] and words in result["msg"], result["msg"]
    assert arm.log == []
    assert "plain-never-shown" not in json.dumps(result)


def test_the_environment_cannot_change_and_absent_deletes(arm):
    run_module("azure_container_app", app_args(), arm)
    arm.log.clear()
    moved = run_module("azure_container_app", app_args(environment=ENV_ID.replace("cae-pacs", "other")), arm)
    assert moved["failed"] and "cannot be changed" in moved["msg"] and not sent(arm)
    gone = run_module("azure_container_app", dict(resource_group="rg", name="orthanc", state="absent"), arm)
    assert gone["changed"] and APP.lower() not in arm.store


def env_args(**extra):
    args = dict(resource_group="rg", name="cae-pacs", location="westeurope", log_analytics_workspace_id=WS_ID)
    args.update(extra)
    return args


def test_environment_links_log_analytics_with_the_shared_key_sent_never_shown():
    arm = SecretKeepingArm()
    workspace = run_module("azure_log_analytics_workspace", dict(resource_group="rg", name="log-pacs",
                                                                 location="westeurope"), arm)
    assert workspace["changed"] and workspace["customer_id"], workspace
    assert sent_to(arm, "/workspaces/log-pacs")[0]["properties"] == {"sku": {"name": "PerGB2018"},
                                                                      "retentionInDays": 30}
    arm.log.clear()
    created = run_module("azure_container_app_environment", env_args(), arm)
    assert created["changed"] and "failed" not in created, created
    body = sent_to(arm, "/managedEnvironments/cae-pacs")[0]
    assert body["properties"]["appLogsConfiguration"] == {
        "destination": "log-analytics",
        "logAnalyticsConfiguration": {"customerId": workspace["customer_id"], "sharedKey": SHARED_KEY}}
    assert SHARED_KEY not in json.dumps(created)
    arm.log.clear()
    again = run_module("azure_container_app_environment",
                       env_args(log_analytics_customer_id=workspace["customer_id"]), arm)
    assert again["changed"] is False and [m for m, _, _ in arm.log] == ["GET"], (again, arm.log)
    again_ws = run_module("azure_log_analytics_workspace", dict(resource_group="rg", name="log-pacs",
                                                                location="westeurope"), arm)
    assert again_ws["changed"] is False


def sent_to(arm, suffix):
    return [copy.deepcopy(b) for m, p, b in arm.log if m == "PUT" and p.lower().endswith(suffix.lower())]


@pytest.mark.parametrize("args, words", [
    (env_args(internal=True), "custom VNet"),
    (env_args(log_analytics_workspace_id="/subscriptions/x/resourceGroups/rg/providers/Foo/bar/baz"), "not a Log"),
    (env_args(logs_destination="log-analytics", log_analytics_workspace_id=None), "needs the workspace"),
])
def test_environment_bad_input_fails_before_any_request(args, words):
    arm = SecretKeepingArm()
    arm.log.clear()
    result = run_module("azure_container_app_environment", args, arm)
    assert result["failed"] and words in result["msg"], result["msg"]
    assert arm.log == []


def test_environment_vnet_and_zone_redundancy_cannot_change():
    arm = SecretKeepingArm()
    subnet = RG + "/providers/Microsoft.Network/virtualNetworks/v/subnets/apps"
    args = env_args(logs_destination="none", log_analytics_workspace_id=None, infrastructure_subnet_id=subnet,
                    internal=True, zone_redundant=True,
                    workload_profiles=[dict(name="Consumption", workload_profile_type="Consumption")])
    assert run_module("azure_container_app_environment", args, arm)["changed"]
    body = sent_to(arm, "/managedEnvironments/cae-pacs")[0]["properties"]
    assert body["vnetConfiguration"] == {"infrastructureSubnetId": subnet, "internal": True}
    assert body["zoneRedundant"] is True and body["workloadProfiles"] == [
        {"name": "Consumption", "workloadProfileType": "Consumption"}]
    result = run_module("azure_container_app_environment", dict(args, zone_redundant=False), arm)
    assert result["failed"] and "cannot be changed" in result["msg"]


def test_environment_update_without_the_workspace_says_how_to_send_its_key_again():
    arm = SecretKeepingArm()
    run_module("azure_log_analytics_workspace", dict(resource_group="rg", name="log-pacs", location="westeurope"), arm)
    assert run_module("azure_container_app_environment", env_args(), arm)["changed"]
    arm.log.clear()
    # a tag change: the environment must be written, and Log Analytics needs its shared key with it
    result = run_module("azure_container_app_environment", dict(env_args(log_analytics_workspace_id=None),
                                                                tags={"owner": "pacs"}), arm)
    assert result["failed"] and "SharedKeyNeeded" in json.dumps(result), result
    assert not sent_to(arm, "/managedEnvironments/cae-pacs")
    tagged = run_module("azure_container_app_environment", env_args(tags={"owner": "pacs"}), arm)
    assert tagged["changed"] and sent_to(arm, "/managedEnvironments/cae-pacs")[0]["properties"][
        "appLogsConfiguration"]["logAnalyticsConfiguration"]["sharedKey"] == SHARED_KEY
    assert SHARED_KEY not in json.dumps(tagged)
