"""Bad requests straight to the lab's Azure emulator (raw HTTPS, a valid admin token): each answers a 4xx ARM error
body with Azure's code and a message naming the field, the emulator logs no 5xx, and nothing is stored (GET
afterwards 404, or the existing resource unchanged). A few go through the collection's real modules.
"""
import json
import time
import uuid

import pytest

from emulator_refusals_lab import PASSWORD, arm, env, lab, parents, read_log, run_module  # noqa: F401 - fixtures

RG = "{rg_path}"
ST = RG + "/providers/Microsoft.Storage/storageAccounts"
ACCOUNT = ST + "/{account}"
PG = RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers"
SERVER = PG + "/{server}"
HDS = RG + "/providers/Microsoft.HealthcareApis/workspaces"
WORKSPACE = HDS + "/{workspace}"


def account(**props):
    return {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "properties": props}


def server(sku=("Standard_B1ms", "Burstable"), login="pgadmin_x", password=PASSWORD):
    return {"location": "westeurope", "sku": {"name": sku[0], "tier": sku[1]},
            "properties": {"administratorLogin": login, "administratorLoginPassword": password, "version": "16"}}


def acls(*values):
    return {"defaultAction": "Deny", "ipRules": [{"value": v, "action": "Allow"} for v in values]}


def policy(base_blob=None, name="archive", blob_types=("blockBlob",), prefixes=("studies/",)):
    actions = {"baseBlob": base_blob or {"tierToCool": {"daysAfterModificationGreaterThan": 30},
                                         "delete": {"daysAfterModificationGreaterThan": 3650}}}
    return {"properties": {"policy": {"rules": [{"name": name, "enabled": True, "type": "Lifecycle", "definition": {
        "filters": {"blobTypes": list(blob_types), "prefixMatch": list(prefixes)}, "actions": actions}}]}}}


def days(**steps):
    return {step: {"daysAfterModificationGreaterThan": n} for step, n in steps.items()}


def firewall(start, end):
    return {"properties": {"startIpAddress": start, "endIpAddress": end}}


# (id, method, path, body, status, code, a word the message must hold). Paths are formatted with the parents.
CASES = [
    # Resource groups.
    ("rg-trailing-dot", "PUT", "/resourceGroups/rg-bad.", {"location": "westeurope"}, 400,
     "InvalidResourceGroupName", "rg-bad."),
    ("rg-91-chars", "PUT", "/resourceGroups/" + "r" * 91, {"location": "westeurope"}, 400,
     "InvalidResourceGroupName", "r" * 91),
    ("rg-newline", "PUT", "/resourceGroups/rg-nl%0A", {"location": "westeurope"}, 400,
     "InvalidResourceGroupName", "rg-nl\\n"),
    ("rg-star", "PUT", "/resourceGroups/rg*star", {"location": "westeurope"}, 400, "InvalidResourceGroupName",
     "rg*star"),
    ("rg-unknown-location", "PUT", "/resourceGroups/rg-mars", {"location": "marsnorth"}, 400,
     "LocationNotAvailableForResourceGroup", "marsnorth"),
    ("rg-tag-name", "PUT", "/resourceGroups/rg-tags", {"location": "westeurope", "tags": {"team/owner": "x"}}, 400,
     "InvalidTagNameCharacters", "team/owner"),
    ("rg-tag-not-string", "PUT", "/resourceGroups/rg-tags2", {"location": "westeurope", "tags": {"owner": 7}}, 400,
     "InvalidRequestContent", "tags.owner"),
    ("rg-body-list", "PUT", "/resourceGroups/rg-list", ["westeurope"], 400, "InvalidRequestContent", "object"),
    # Storage accounts.
    ("account-uppercase", "PUT", ST + "/Bad_Name1", account(), 400, "AccountNameInvalid", "Bad_Name1"),
    ("account-too-short", "PUT", ST + "/ab", account(), 400, "AccountNameInvalid", "'ab'"),
    ("account-sku", "PUT", ST + "/skubad1", dict(account(), sku={"name": "Standard_Cheap"}), 400,
     "InvalidValuesForRequestParameters", "sku.name"),
    ("account-kind", "PUT", ST + "/kindbad1", dict(account(), kind="StorageV3"), 400,
     "InvalidValuesForRequestParameters", "kind"),
    ("account-location", "PUT", ST + "/locbad1", dict(account(), location="westeurope2"), 400,
     "LocationNotAvailableForResourceType", "westeurope2"),
    ("account-tls", "PUT", ST + "/tlsbad1", account(minimumTlsVersion="TLS0_9"), 400,
     "InvalidValuesForRequestParameters", "minimumTlsVersion"),
    ("iprule-private", "PUT", ST + "/ipbad1", account(networkAcls=acls("10.0.0.0/8")), 400,
     "InvalidValuesForRequestParameters", "networkAcls.ipRule[0].value"),
    ("iprule-slash32", "PUT", ST + "/ipbad2", account(networkAcls=acls("203.0.113.5/32")), 400,
     "InvalidValuesForRequestParameters", "networkAcls.ipRule[0].value"),
    ("iprule-host-bits", "PUT", ST + "/ipbad3", account(networkAcls=acls("203.0.113.0/27", "4.213.28.114/30")),
     400, "InvalidValuesForRequestParameters", "networkAcls.ipRule[1].value"),
    ("iprule-not-ip", "PUT", ST + "/ipbad4", account(networkAcls=acls("intranet")), 400,
     "InvalidValuesForRequestParameters", "intranet"),
    ("keyvault-http", "PUT", ST + "/cmkbad1", account(encryption={"keySource": "Microsoft.Keyvault",
                                                                  "keyvaultproperties": {
                                                                      "keyvaulturi": "http://kv.example/",
                                                                      "keyname": "k"}}), 400,
     "InvalidValuesForRequestParameters", "keyvaulturi"),
    # Containers, blob service, lifecycle under a valid account.
    ("container-uppercase", "PUT", ACCOUNT + "/blobServices/default/containers/Studies", {"properties": {}}, 400,
     "ContainerOperationFailure", "Studies"),
    ("container-double-hyphen", "PUT", ACCOUNT + "/blobServices/default/containers/a--b", {"properties": {}}, 400,
     "ContainerOperationFailure", "a--b"),
    ("container-too-short", "PUT", ACCOUNT + "/blobServices/default/containers/ab", {"properties": {}}, 400,
     "ContainerOperationFailure", "'ab'"),
    ("lifecycle-archive-after-delete", "PUT", ACCOUNT + "/managementPolicies/default",
     policy(days(tierToArchive=400, delete=365)), 400, "InvalidValuesForRequestParameters", "tierToArchive"),
    ("lifecycle-negative-days", "PUT", ACCOUNT + "/managementPolicies/default", policy(days(delete=-1)), 400,
     "InvalidValuesForRequestParameters", "delete.daysAfterModificationGreaterThan"),
    ("lifecycle-unknown-action", "PUT", ACCOUNT + "/managementPolicies/default", policy(days(tierToGlacier=30)), 400,
     "InvalidValuesForRequestParameters", "tierToGlacier"),
    ("lifecycle-rule-name", "PUT", ACCOUNT + "/managementPolicies/default", policy(name="orthanc-archive"), 400,
     "InvalidValuesForRequestParameters", "rules[0].name"),
    ("lifecycle-prefix", "PUT", ACCOUNT + "/managementPolicies/default", policy(prefixes=("/studies",)), 400,
     "InvalidValuesForRequestParameters", "prefixMatch[0]"),
    ("lifecycle-blob-type", "PUT", ACCOUNT + "/managementPolicies/default", policy(blob_types=("pageBlob",)), 400,
     "InvalidValuesForRequestParameters", "blobTypes"),
    # PostgreSQL flexible servers and their children.
    ("pg-name", "PUT", PG + "/PG_Bad", server(), 400, "InvalidServerName", "PG_Bad"),
    ("pg-sku-size", "PUT", PG + "/pg-sku1", server(sku=("Standard_D3ds_v5", "GeneralPurpose")), 400,
     "InvalidParameterValue", "sku.name"),
    ("pg-sku-tier", "PUT", PG + "/pg-sku2", server(sku=("Standard_B1ms", "GeneralPurpose")), 400,
     "InvalidParameterValue", "sku.tier"),
    ("pg-password-short", "PUT", PG + "/pg-pw1", server(password="Ab1!x"), 400, "PasswordNotComplex",
     "administratorLoginPassword"),
    ("pg-password-categories", "PUT", PG + "/pg-pw2", server(password="onlylowercaseletters"), 400,
     "PasswordNotComplex", "three of"),
    ("pg-password-login", "PUT", PG + "/pg-pw3", server(login="orthancadmin", password="Orthancadmin-2024"), 400,
     "PasswordNotComplex", "login"),
    ("pg-login", "PUT", PG + "/pg-login1", server(login="1admin"), 400, "InvalidAdministratorLogin", "1admin"),
    ("pg-database-name", "PUT", SERVER + "/databases/1orthanc", {"properties": {"charset": "UTF8"}}, 400,
     "InvalidDatabaseName", "1orthanc"),
    ("pg-firewall-range", "PUT", SERVER + "/firewallRules/backwards", firewall("10.0.0.9", "10.0.0.1"), 400,
     "InvalidParameterValue", "startIpAddress"),
    ("pg-firewall-ip", "PUT", SERVER + "/firewallRules/badip", firewall("10.0.0.300", "10.0.0.300"), 400,
     "InvalidParameterValue", "startIpAddress"),
    ("pg-firewall-name", "PUT", SERVER + "/firewallRules/bad%20name", firewall("10.0.0.1", "10.0.0.1"), 400,
     "InvalidFirewallRuleName", "bad name"),
    # Health Data Services.
    ("hds-workspace-uppercase", "PUT", HDS + "/Hospital", {"location": "westeurope"}, 400, "InvalidResourceName",
     "Hospital"),
    ("hds-workspace-short", "PUT", HDS + "/ws", {"location": "westeurope"}, 400, "InvalidResourceName", "'ws'"),
    ("hds-dicom-name", "PUT", WORKSPACE + "/dicomservices/PACS_1", {"location": "westeurope"}, 400,
     "InvalidResourceName", "PACS_1"),
    ("hds-location", "PUT", HDS + "/wsmoon1", {"location": "moon"}, 400, "LocationNotAvailableForResourceType",
     "moon"),
    # Role assignments.
    ("role-assignment-not-guid", "PUT", RG + "/providers/Microsoft.Authorization/roleAssignments/not-a-guid",
     {"properties": {"roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "principalId": str(uuid.uuid4())}},
     400, "InvalidRoleAssignmentId", "not-a-guid"),
    ("container-metadata", "PUT", ACCOUNT + "/blobServices/default/containers/meta",
     {"properties": {"metadata": {"bad-name": "x"}}}, 400, "ContainerOperationFailure", "metadata.bad-name"),
    ("role-assignment-empty-principal", "PUT",
     RG + "/providers/Microsoft.Authorization/roleAssignments/6f1f8a43-5a8b-4f3c-9d36-0c1f7b0b1a01",
     {"properties": {"roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "principalId": ""}}, 400,
     "InvalidPrincipalId", "principalId"),
    # Malformed requests.
    ("json-malformed", "PUT", ST + "/jsonbad1", b'{"location": "westeurope",', 400, "InvalidRequestContent",
     "deserialized"),
    ("json-deep-nesting", "PUT", ST + "/jsonbad2", b'{"properties": ' + b"[" * 100000 + b"]" * 100000 + b"}", 400,
     "InvalidRequestContent", "nested"),
    ("json-nan", "PUT", ST + "/jsonbad3", b'{"location": "westeurope", "properties": {"x": NaN}}', 400,
     "InvalidRequestContent", "NaN"),
    ("json-not-utf8", "PUT", ST + "/jsonbad4", b'{"location": "\xff\xfe"}', 400, "InvalidRequestContent",
     "deserialized"),
    ("wrong-type-sku", "PUT", ST + "/typebad1", dict(account(), sku="Standard_LRS"), 400, "InvalidRequestContent",
     "sku"),
    ("wrong-type-properties", "PUT", RG + "/providers/Microsoft.KeyVault/vaults/kvbad1",
     {"location": "westeurope", "properties": ["sku"]}, 400, "InvalidRequestContent", "'properties'"),
    ("huge-body", "PUT", ST + "/hugebad1", b'{"location": "westeurope", "tags": {"a": "' + b"x" * (5 * 1024 * 1024)
     + b'"}}', 413, "RequestContentTooLarge", "4 MB"),
    ("regenerate-key-list-body", "POST", ACCOUNT + "/regenerateKey", ["key1"], 400, "InvalidRequestContent",
     "object"),
    ("check-name-list-body", "POST", "/providers/Microsoft.Storage/checkNameAvailability", ["x"], 400,
     "InvalidRequestContent", "object"),
]
# Requests whose api-version is the mistake.
VERSION_CASES = [
    ("storage-unknown-version", ST + "/verbad1", "2001-01-01", "NoRegisteredProviderFound", "2001-01-01"),
    ("malformed-version", ST + "/verbad2", "latest", "InvalidApiVersionParameter", "latest"),
    ("rg-future-version", "/resourceGroups/rg-future", "2099-01-01", "InvalidApiVersionParameter", "2099-01-01"),
]
# Changes to existing resources that must leave them as they were.
UNCHANGED_CASES = [
    ("patch-account-private-iprule", "PATCH", ACCOUNT, {"properties": {"networkAcls": acls("192.168.0.0/16")}},
     "InvalidValuesForRequestParameters", "networkAcls.ipRule[0].value"),
    ("patch-account-list-body", "PATCH", ACCOUNT, [{"properties": {}}], "InvalidRequestContent", "object"),
    ("blob-service-soft-delete-days", "PUT", ACCOUNT + "/blobServices/default",
     {"properties": {"deleteRetentionPolicy": {"enabled": True, "days": 0}}}, "InvalidValuesForRequestParameters",
     "deleteRetentionPolicy.days"),
    ("patch-server-weak-password", "PATCH", SERVER, {"properties": {"administratorLoginPassword": "password"}},
     "PasswordNotComplex", "administratorLoginPassword"),
    ("patch-rg-list-body", "PATCH", RG, ["westeurope"], "InvalidRequestContent", "object"),
]


def _send(arm, method, path, body, api_version=None):
    raw = body if isinstance(body, bytes) else None
    return arm.call(method, path, None if raw is not None else body, raw=raw, api_version=api_version)


def _assert_arm_error(answer, status, code, needle):
    assert answer.status_code == status, answer.text[:500]
    error = answer.json()["error"]
    assert error["code"] == code, error
    assert needle in error["message"], error["message"]
    assert "Traceback" not in answer.text


def _assert_no_server_error(env, since):
    assert [e for e in read_log(env, since) if e["status"] >= 500] == []


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_and_nothing_is_stored(arm, env, parents, case):
    _id, method, path, body, status, code, needle = case
    path = path.format(**parents)
    since = time.time()
    answer = _send(arm, method, path, body)
    _assert_arm_error(answer, status, code, needle)
    if method == "PUT":
        after = arm.call("GET", path)
        assert after.status_code in (400, 404), f"{path} exists after a refused PUT: {after.text[:300]}"
    _assert_no_server_error(env, since)


@pytest.mark.parametrize("case", VERSION_CASES, ids=[c[0] for c in VERSION_CASES])
def test_bad_api_version_is_refused_and_nothing_is_stored(arm, env, parents, case):
    _id, path, version, code, needle = case
    path = path.format(**parents)
    body = account() if "storageAccounts" in path else {"location": "westeurope"}
    since = time.time()
    _assert_arm_error(_send(arm, "PUT", path, body, api_version=version), 400, code, needle)
    assert arm.call("GET", path).status_code == 404
    _assert_no_server_error(env, since)


@pytest.mark.parametrize("case", UNCHANGED_CASES, ids=[c[0] for c in UNCHANGED_CASES])
def test_bad_change_leaves_the_resource_unchanged(arm, env, parents, case):
    _id, method, path, body, code, needle = case
    path = path.format(**parents)
    before = arm.call("GET", path).json()
    since = time.time()
    _assert_arm_error(_send(arm, method, path, body), 400, code, needle)
    assert arm.call("GET", path).json() == before
    _assert_no_server_error(env, since)


WEIRD = [None, -1, 10 ** 30, True, "", "x" * 3000, [], {}, [None], "\u0000"]


def _leaves(node, path=()):
    yield path
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        yield from _leaves(value, path + (key,))


def _replaced(body, path, value):
    body = json.loads(json.dumps(body))
    if not path:
        return value
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


@pytest.mark.parametrize("target", ["account", "firewall-rule"])
def test_wrong_types_anywhere_in_a_body_never_give_a_5xx(arm, env, parents, target):
    """Every field of a valid body replaced in turn by a value of the wrong type or size: only 2xx/4xx answers.
    (PATCH of the existing account and firewall rules: no data plane to provision, so the loop stays quick.)"""
    if target == "account":
        method, path = "PATCH", ACCOUNT.format(**parents)
        good = {"tags": {"a": "b"}, "properties": {"networkAcls": acls("203.0.113.0/27"), "minimumTlsVersion": "TLS1_2"}}
    else:
        method, path, good = "PUT", SERVER.format(**parents) + "/firewallRules/fuzz{n}", firewall("1.2.3.4", "1.2.3.5")
    since, count = time.time(), 0
    for leaf in _leaves(good):
        for value in WEIRD:
            count += 1
            answer = arm.call(method, path.format(n=count), None, raw=json.dumps(_replaced(good, leaf, value)))
            assert answer.status_code < 500, (leaf, value, answer.text[:300])
    _assert_no_server_error(env, since)


def test_null_properties_mean_none_given(arm, env, parents):
    """"properties": null made the behaviours fail with a 500; ARM reads it as no properties."""
    since = time.time()
    answer = arm.call("PUT", ACCOUNT.format(**parents) + "/blobServices/default/containers/nullprops",
                      {"properties": None})
    assert answer.status_code in (200, 201), answer.text
    _assert_no_server_error(env, since)


def test_a_good_firewall_rule_and_policy_still_pass(arm, parents):
    """The stricter emulator still takes what the roles send (the role's tiering policy, a controller rule)."""
    rule = arm.call("PUT", SERVER.format(**parents) + "/firewallRules/controller", firewall("127.0.0.1", "127.0.0.1"))
    assert rule.status_code in (200, 201, 202), rule.text
    steps = days(tierToCool=30, tierToCold=90, tierToArchive=365)
    answer = arm.call("PUT", ACCOUNT.format(**parents) + "/managementPolicies/default", policy(steps))
    assert answer.status_code == 200, answer.text


# Through the collection's modules: the refusal reaches the user as a failed task naming the input.
MODULE_CASES = [
    ("storage-account-location", "azure_storage_account",
     {"name": "modbadloc1", "location": "westeurope2", "sku": "Standard_LRS"}, "LocationNotAvailableForResourceType", "westeurope2"),
    ("storage-account-private-iprule", "azure_storage_account",
     {"name": "modbadip1", "location": "westeurope", "sku": "Standard_LRS", "network": {"default_action": "Deny",
                                                                 "ip_rules": ["10.1.0.0/16"]}},
     "InvalidValuesForRequestParameters", "10.1.0.0/16"),
    ("pg-server-sku", "azure_postgresql_flexible_server",
     {"name": "pg-mod-sku", "location": "westeurope", "sku": {"name": "Standard_D3ds_v5", "tier": "GeneralPurpose"},
      "administrator_login": "modadmin", "administrator_login_password": PASSWORD, "version": "16"},
     "InvalidParameterValue", "Standard_D3ds_v5"),
    ("lifecycle-prefix", "azure_storage_management_policy",
     {"rules": [{"name": "orthancarchive", "prefixes": ["/studies"], "cool_after_days": 30}]},
     "InvalidValuesForRequestParameters", "prefixMatch[0]"),
    ("hds-workspace-location", "azure_healthcare_workspace", {"name": "wsmodbad1", "location": "moon"},
     "LocationNotAvailableForResourceType", "moon"),
]


@pytest.mark.parametrize("case", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_module_fails_naming_the_input_without_a_traceback(env, parents, case):
    _id, module, args, code, needle = case
    args = dict(args, resource_group=parents["rg"])
    if module == "azure_storage_management_policy":
        args["account"] = parents["account"]
    since = time.time()
    result, printed = run_module(module, args, env)
    assert result.get("failed"), result
    text = json.dumps(result)
    assert code in text and needle in text, result.get("msg")
    assert "Traceback" not in printed and PASSWORD not in printed
    writes = [e for e in read_log(env, since) if e["method"] in ("PUT", "PATCH", "DELETE") and e["status"] < 400]
    assert writes == [], writes


# Credential failures that are not about the credential must say what they are.
def _expired_assertion_file(arm, env, parents, tmp_path):
    """A user-assigned identity trusting the lab's OIDC issuer, and an assertion for it that expired a minute ago."""
    import requests
    rg = parents["rg_path"]
    identity = arm.call("PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/badinputwl",
                        {"location": "westeurope"}, api_version="2024-11-30").json()
    issuer = env["oidc_issuer_base"] + "/badinput"
    credential = arm.call("PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/badinputwl/"
                          "federatedIdentityCredentials/cluster", {"properties": {
                              "issuer": issuer, "subject": "system:serviceaccount:pacs:orthanc",
                              "audiences": ["api://AzureADTokenExchange"]}}, api_version="2024-11-30")
    assert credential.status_code in (200, 201), credential.text
    minted = requests.post(issuer + "/token", json={"subject": "system:serviceaccount:pacs:orthanc", "lifetime": -60},
                           headers=arm.headers, verify=env["ca_bundle"], timeout=30)
    path = tmp_path / "token"
    path.write_text(minted.json()["token"])
    return identity["properties"]["clientId"], str(path)


def test_expired_federated_token_is_answered_as_expired(arm, env, parents, tmp_path):
    import requests
    client_id, path = _expired_assertion_file(arm, env, parents, tmp_path)
    answer = requests.post(f"{env['authority_host']}/{env['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "scope": "https://management.azure.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": open(path, encoding="utf-8").read()}, verify=env["ca_bundle"], timeout=30)
    assert answer.status_code == 400 and answer.json()["error_codes"] == [700024]
    assert "expired" in answer.json()["error_description"] and "expiry time of assertion" in answer.json()[
        "error_description"]


def test_module_with_an_expired_federated_token_says_expired(arm, env, parents, tmp_path, monkeypatch):
    client_id, path = _expired_assertion_file(arm, env, parents, tmp_path)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", path)
    result, printed = run_module("azure_resource_group", {"name": parents["rg"], "location": "westeurope",
                                                          "secret": None, "client_id": client_id}, env)
    assert result.get("failed") and "FederatedTokenExpired" in result["msg"], result
    assert "no credential worked" not in result["msg"] and "AZURE_FEDERATED_TOKEN_FILE" in result["msg"]
    assert "Traceback" not in printed


def test_module_with_an_untrusting_ca_bundle_names_it(env, parents):
    since = time.time()
    result, printed = run_module("azure_resource_group", {"name": parents["rg"], "location": "westeurope",
                                                          "ca_bundle": "/etc/ssl/certs/ca-certificates.crt"}, env)
    assert result.get("failed") and "CertificateNotTrusted" in result["msg"], result
    assert "no credential worked" not in result["msg"] and "ca_bundle" in result["msg"]
    assert "Traceback" not in printed and env["client_secret"] not in printed
    assert [e for e in read_log(env, since) if e["method"] != "GET"] == []


@pytest.mark.parametrize("bundle", ["/nonexistent/lab-ca.pem", "/etc/hostname"])
def test_module_with_a_missing_or_non_pem_ca_bundle_names_the_path(env, parents, bundle):
    since = time.time()
    result, printed = run_module("azure_resource_group", {"name": parents["rg"], "location": "westeurope",
                                                          "ca_bundle": bundle}, env)
    assert result.get("failed") and bundle in result["msg"] and "ca_bundle" in result["msg"], result
    assert "no credential worked" not in result["msg"] and "Traceback" not in printed
    assert read_log(env, since) == []


# Entra ID, Graph and the lab's own endpoints answer a client's mistake with a 4xx too.
OTHER_CASES = [
    ("graph-app-list-body", "POST", "/v1.0/applications", "graph", b"[1]", "object"),
    ("graph-sp-app-id-number", "POST", "/v1.0/servicePrincipals", "graph", b'{"appId": 5}', "appId"),
    ("lab-oidc-subject-number", "POST", "/_lab/oidc/badinput/token", "arm", b'{"subject": 5}', "subject"),
    ("lab-oidc-lifetime-text", "POST", "/_lab/oidc/badinput/token", "arm", b'{"subject": "a", "lifetime": "x"}',
     "lifetime"),
    ("lab-msi-host-list-body", "POST", "/_lab/managed-identity-hosts", "arm", b"[1]", "object"),
    ("lab-msi-host-id-number", "POST", "/_lab/managed-identity-hosts", "arm", b'{"resourceId": 5}', "resourceId"),
    ("token-basic-garbage", "POST", "/{tenant}/oauth2/token", "basic", b"grant_type=client_credentials&resource="
     b"https://management.azure.com", "Basic"),
]


@pytest.mark.parametrize("case", OTHER_CASES, ids=[c[0] for c in OTHER_CASES])
def test_other_endpoints_refuse_bad_bodies_with_a_4xx(arm, env, case):
    import requests
    _id, method, path, auth, body, needle = case
    if auth == "graph":
        token = requests.post(f"{env['authority_host']}/{env['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": env["client_id"], "client_secret": env["client_secret"],
            "scope": "https://graph.microsoft.com/.default"}, verify=env["ca_bundle"], timeout=30).json()
        headers = {"Authorization": "Bearer " + token["access_token"], "Content-Type": "application/json"}
    elif auth == "basic":
        headers = {"Authorization": "Basic /w==", "Content-Type": "application/x-www-form-urlencoded"}  # not UTF-8
    else:
        headers = dict(arm.headers, **{"Content-Type": "application/json"})
    since = time.time()
    answer = requests.request(method, env["arm_endpoint"] + path.format(tenant=env["tenant_id"]), data=body,
                              headers=headers, verify=env["ca_bundle"], timeout=30)
    assert answer.status_code == 400 and needle in answer.text, answer.text[:300]
    _assert_no_server_error(env, since)
