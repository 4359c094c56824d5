"""playbooks/azure_production_aks.yml in the lab (one converge for the module, conftest.py). First, check mode from
empty (only the resource group exists): changes reported, nothing written to ARM, the vaults or the cluster. Then
the converge: the network (VNet, subnets, privatelink zones and links, private endpoints with zone groups) and the
cluster on its node subnet (Azure CNI); the pod Ready with
workload identity and no client secret anywhere; the plugin holding a token obtained through workload identity;
a study stored in Orthanc reaching the lab's DICOM service by STOW through the plugin, as the identity; the index
in the PostgreSQL flexible server's database; the metrics endpoint answering. Then the same playbook in check
mode on the converged state: changed=0 (idempotent) and nothing written, neither to ARM (the emulator's request
log) nor to the cluster (its resourceVersion counter). One check-mode pass stands for both the idempotence run
and the check-mode run: the modules compare the same way in both, and a full converge costs minutes here.
Last, the teardown (aks_state=absent) removes what the role made, and a second one changes nothing."""
import base64
import json
import os
import time
import urllib.error
import urllib.request

import psycopg
import pytest
import yaml

from lab.dicom_factory import make_instance

NAMESPACE, RELEASE, GROUP = "pacs", "orthanc", "rg-aks-lab"


def kube(aks_lab, plural, name=None, api="v1"):
    store = aks_lab.cluster.store
    return store.get(api, plural, NAMESPACE, name) if name else store.list(api, plural, NAMESPACE)


def user_objects(aks_lab):
    """Every namespace and namespaced object but what the cluster's own controllers make in each namespace. Not the
    store's resourceVersion: a fresh cluster's namespace controller may still be publishing kube-root-ca.crt while
    the playbook runs (the fresh-clone CI run saw 17 -> 18 with no write from the playbook)."""
    store = aks_lab.cluster.store
    housekeeping = {("v1", "serviceaccounts", "default"), ("v1", "configmaps", "kube-root-ca.crt")}
    namespaces = sorted(n["metadata"]["name"] for n in store.list("v1", "namespaces"))
    return {name: sorted(set(store.namespaced_objects(name)) - housekeeping) for name in namespaces}


def inventory_value(aks_lab, name):
    """A lab password the inventory generated (ansible's password lookup files under LAB_DIR)."""
    with open(os.path.join(aks_lab.env["lab_dir"], "aks-lab", name), encoding="utf-8") as handle:
        return handle.read().split()[0]


# The inventory prefixes the PostgreSQL password's random part with this (Azure's complexity rule).
PG_PASSWORD_PREFIX = "Pg1"


def orthanc(aks_lab, path, body=None, method=None, content_type="application/json"):
    """(status, body) of Orthanc's REST API through the Service's host port, as the inventory's admin user."""
    port = json.loads(kube(aks_lab, "services", RELEASE)["metadata"]["annotations"]
                      ["lab.medimaging.io/host-ports"])["8042"]
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, method=method)
    token = base64.b64encode(("admin:" + inventory_value(aks_lab, "orthanc-admin")).encode()).decode()
    request.add_header("Authorization", "Basic " + token)
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def arm(aks_lab, client_class):
    """An ARM SDK client on the emulator, as the lab's admin principal."""
    from azure.identity import ClientSecretCredential
    env = aks_lab.env
    credential = ClientSecretCredential(env["tenant_id"], env["client_id"], env["client_secret"],
                                        authority=env["authority_host"], disable_instance_discovery=True,
                                        connection_verify=env["ca_bundle"])
    return client_class(credential, env["subscription_id"], base_url=env["arm_endpoint"],
                        credential_scopes=["https://management.azure.com/.default"], connection_verify=env["ca_bundle"])


def identity(aks_lab):
    """The user-assigned identity the role made (read from the emulator's ARM)."""
    from azure.mgmt.msi import ManagedServiceIdentityClient
    return arm(aks_lab, ManagedServiceIdentityClient).user_assigned_identities.get(GROUP, "id-" + RELEASE)


def arm_writes(aks_lab, offset):
    """(method, path) of every write since offset: ARM and the vaults' data planes (POST listClusterUserCredential
    only reads)."""
    return [(e["method"], e["path"]) for e in request_log(aks_lab, offset)
            if e["method"] not in ("GET", "HEAD") and not e["path"].endswith("/listClusterUserCredential")
            and (e["path"].lower().startswith(("/subscriptions/", "/secrets/", "/deletedsecrets/")))]


def request_log(aks_lab, offset=0):
    with open(aks_lab.env["request_log"], encoding="utf-8") as handle:
        handle.seek(offset)
        return [json.loads(line) for line in handle if line.strip()]


def changed_tasks(stdout):
    """Names of the tasks that reported changed in an ansible-playbook output."""
    names, current = set(), None
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            current = line[len("TASK ["):].rsplit("]", 1)[0]
        elif line.startswith("changed:") and current:
            names.add(current)
    return names


def wait_for(what, probe, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            assert found, "timed out waiting for " + what
            return found
        time.sleep(1)


def test_check_mode_from_empty_reports_changes_and_writes_nothing(aks_lab):
    """Before the first converge (so it runs first: `converged` is not asked for). Only the resource group exists:
    the modules refuse to plan inside a group that does not exist, in check mode too."""
    from azure.mgmt.resource.resources import ResourceManagementClient
    arm(aks_lab, ResourceManagementClient).resource_groups.create_or_update(GROUP, {"location": aks_lab.env["location"]})
    offset = os.path.getsize(aks_lab.env["request_log"])
    before = user_objects(aks_lab)
    done, summary = aks_lab.playbook("--check", "--diff", label="check-from-empty")
    assert summary["failed"] == 0, summary
    # What would be created, as the recap's tasks say (the cluster, the endpoints and the release wait for the
    # network, the data services and the vault to exist: they are planned on the real run).
    assert {"orthanc_aks_helm : Ensure the virtual network and its subnets",
            "orthanc_aks_helm : Ensure the private DNS zones, linked to the network",
            "azure_dicom : Ensure the Health Data Services workspace",
            "postgres_flexible : Ensure the flexible server", "blob_archive : Ensure the storage account",
            "orthanc_aks_helm : Ensure Orthanc's user-assigned identity"} <= changed_tasks(done.stdout), done.stdout
    assert arm_writes(aks_lab, offset) == []
    assert user_objects(aks_lab) == before, "check mode wrote to the cluster"
    assert kube(aks_lab, "secrets") == [] and kube(aks_lab, "deployments", api="apps/v1") == []


def test_network_private_endpoints_and_cluster_subnet(aks_lab, converged):
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.privatedns import PrivateDnsManagementClient
    network = arm(aks_lab, NetworkManagementClient)
    subnets = {s.name: s for s in network.subnets.list(GROUP, "vnet-aks-lab")}
    assert set(subnets) == {"aks-nodes", "private-endpoints"}
    cluster = arm(aks_lab, ContainerServiceClient).managed_clusters.get(GROUP, "aks-pacs-lab")
    assert cluster.network_profile.network_plugin == "azure"
    assert cluster.agent_pool_profiles[0].vnet_subnet_id.lower() == subnets["aks-nodes"].id.lower()
    endpoints = {e.name: e for e in network.private_endpoints.list(GROUP)}
    assert set(endpoints) == {"pe-vnet-aks-lab-dicom", "pe-vnet-aks-lab-blob", "pe-vnet-aks-lab-vault"}
    targets = {name: e.private_link_service_connections[0] for name, e in endpoints.items()}
    assert targets["pe-vnet-aks-lab-dicom"].private_link_service_id.lower().endswith("/workspaces/akslabws")
    assert targets["pe-vnet-aks-lab-dicom"].group_ids == ["healthcareworkspace"]
    assert targets["pe-vnet-aks-lab-vault"].group_ids == ["vault"]
    assert all(e.subnet.id.lower() == subnets["private-endpoints"].id.lower() for e in endpoints.values())
    dns = arm(aks_lab, PrivateDnsManagementClient)
    zones = {z.name for z in dns.private_zones.list_by_resource_group(GROUP)}
    assert {"privatelink.vaultcore.azure.net", "privatelink.blob.core.windows.net",
            "privatelink.workspace.azurehealthcareapis.com"} <= zones
    links = list(dns.virtual_network_links.list(GROUP, "privatelink.vaultcore.azure.net"))
    assert [link.virtual_network.id.lower() for link in links] == [network.virtual_networks.get(
        GROUP, "vnet-aks-lab").id.lower()]
    # The zone group wrote the vault endpoint's address into the vault's privatelink zone.
    group = network.private_dns_zone_groups.get(GROUP, "pe-vnet-aks-lab-vault", "default")
    (record,) = group.private_dns_zone_configs[0].record_sets
    assert record.record_set_name == "kv-aks-lab" and record.ip_addresses[0].startswith("10.240.16.")


def test_pod_ready_with_workload_identity_and_no_secret_in_values(aks_lab, converged):
    _done, summary = converged
    assert summary["failed"] == 0 and summary["changed"] > 0
    (pod,) = [p for p in kube(aks_lab, "pods") if p["metadata"]["labels"].get("app.kubernetes.io/component") == "pacs"]
    assert pod["status"]["phase"] == "Running" and pod["status"]["containerStatuses"][0]["ready"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"  # a LABEL: what the webhook matches
    uai = identity(aks_lab)
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0].get("env", [])}
    assert env["AZURE_CLIENT_ID"] == uai.client_id and env["AZURE_FEDERATED_TOKEN_FILE"]
    assert "AZURE_CLIENT_SECRET" not in env
    # Orthanc's *_SECRET variables name files (the entrypoint reads them), never hold a value.
    assert all(value.startswith("/run/medimaging/secrets/") for name, value in env.items() if name.endswith("_SECRET"))
    for secret in (inventory_value(aks_lab, "orthanc-admin"), inventory_value(aks_lab, "pg-password")):
        assert secret not in json.dumps(pod)
    account = kube(aks_lab, "serviceaccounts", "orthanc")
    assert account["metadata"]["annotations"]["azure.workload.identity/client-id"] == uai.client_id

    # The release's values (what helm stores) name secrets by reference only: no password, no client secret.
    release = [s for s in kube(aks_lab, "secrets") if s.get("type") == "helm.sh/release.v1"]
    assert release, "helm stores its release as a Secret"
    values = aks_lab.helm_values(NAMESPACE, RELEASE)
    text = yaml.safe_dump(values)
    for secret in (inventory_value(aks_lab, "orthanc-admin"), inventory_value(aks_lab, "pg-password"),
                   aks_lab.env["client_secret"]):
        assert secret not in text
    assert "clientSecret" not in text and values["oauthPlugin"]["servers"]["azure-dicom"]["authentication"] == {
        "type": "workload-identity", "scope": "https://dicom.healthcareapis.azure.com/.default"}
    assert values["database"]["external"]["credentialsSecret"]["name"] == RELEASE + "-database"


def test_plugin_holds_a_token_from_workload_identity(aks_lab, converged):
    def token_ok():
        status, body = orthanc(aks_lab, "/medimaging/oauth/status")
        server = json.loads(body)["servers"]["azure-dicom"] if status == 200 else {}
        return server if server.get("state") == "ok" else None
    server = wait_for("the plugin's token", token_ok)
    assert server["provider"] == "workload_identity" and server["token_valid"] and server["secret_source"] is None
    assert server["client_id"] == identity(aks_lab).client_id


def test_study_reaches_the_dicom_service_through_the_plugin_as_the_identity(aks_lab, converged):
    offset = os.path.getsize(aks_lab.env["request_log"])
    status, body = orthanc(aks_lab, "/instances", make_instance(patient_id="AKS0001"), "POST", "application/dicom")
    assert status == 200, body

    def stowed():
        return [e for e in request_log(aks_lab, offset)
                if e["method"] == "POST" and e["path"] == "/dicom/akslabws-pacs/v2/studies" and e["status"] == 200]
    (stow,) = wait_for("the router's STOW at the DICOM service", stowed)
    assert stow["principal"] == identity(aks_lab).principal_id   # the federated identity, no client secret

    def recorded():  # the router writes its queue row after the service's answer: not yet when the log has it
        cloud = json.loads(orthanc(aks_lab, "/medimaging/router/status")[1])["destinations"]["cloud"]
        return cloud if cloud["bytes_sent"] > 0 else None
    router = wait_for("the router's record of the STOW", recorded)
    assert router["dead"] == 0, router


def test_index_is_in_the_flexible_servers_database(aks_lab, converged):
    with psycopg.connect(host="127.0.0.1", port=aks_lab.env["postgres_port"], dbname="orthanc_aks",
                         user="orthanc_aks", password=PG_PASSWORD_PREFIX + inventory_value(aks_lab, "pg-password")) as connection:
        patients = connection.execute("SELECT count(*) FROM resources WHERE resourcetype = 0").fetchone()[0]
    status, body = orthanc(aks_lab, "/patients")
    assert status == 200 and patients == len(json.loads(body)) >= 1


def test_metrics_answer(aks_lab, converged):
    status, body = orthanc(aks_lab, "/medimaging/metrics")
    assert status == 200
    assert 'medimaging_oauth_token_acquisitions_total{server="azure-dicom",result="success"}' in body.decode()


def contents(aks_lab):
    """(namespace, api_version, plural, name) -> (metadata.generation, labels) of every namespaced object: what a
    client's create, delete, or write of content or labels changes. Not the store's resourceVersion: the cluster's
    controllers and kubelet keep writing statuses and their own annotations (pods' readiness under load, endpoints)
    while a long --check runs (a loaded run saw 67 -> 76 with no write from the playbook)."""
    store, found = aks_lab.cluster.store, {}
    for namespace in sorted(n["metadata"]["name"] for n in store.list("v1", "namespaces")):
        for api_version, plural, name in store.namespaced_objects(namespace):
            if plural not in ("events", "leases", "endpoints", "endpointslices"):  # the controllers' own
                meta = (store.get(api_version, plural, namespace, name) or {}).get("metadata", {})
                found[(namespace, api_version, plural, name)] = (meta.get("generation"), meta.get("labels"))
    return found


def test_check_mode_on_the_converged_scenario_changes_and_writes_nothing(aks_lab, converged):
    offset = os.path.getsize(aks_lab.env["request_log"])
    before = contents(aks_lab)
    _done, summary = aks_lab.playbook("--check", label="check")
    assert summary["failed"] == 0 and summary["changed"] == 0, summary
    assert arm_writes(aks_lab, offset) == []
    after = contents(aks_lab)
    assert after == before, ("check mode wrote to the cluster", {k: (before.get(k), after.get(k))
                                                                 for k in set(before) | set(after)
                                                                 if before.get(k) != after.get(k)})


def test_teardown_removes_what_the_role_made_and_a_second_changes_nothing(aks_lab, converged):
    """Last: aks_state=absent. The data services stay (patient data), so does the network and the vault."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.network import NetworkManagementClient
    principal = identity(aks_lab).principal_id
    offset = os.path.getsize(aks_lab.env["request_log"])
    _done, summary = aks_lab.playbook("-e", "aks_state=absent", label="absent")
    assert summary["failed"] == 0 and summary["changed"] > 0, summary
    with pytest.raises(ResourceNotFoundError):
        identity(aks_lab)
    writes = arm_writes(aks_lab, offset)
    assert any(m == "DELETE" and "/federatedIdentityCredentials/" in p for m, p in writes), writes
    for name in ("orthanc-users", "orthanc-db-username", "orthanc-db-password"):
        assert ("DELETE", "/secrets/" + name) in writes
    assigned = arm(aks_lab, AuthorizationManagementClient).role_assignments.list_for_subscription()
    assert [a.id for a in assigned if a.principal_id == principal] == []
    network = arm(aks_lab, NetworkManagementClient)
    assert [e.name for e in network.private_endpoints.list(GROUP)] == []
    assert [s for s in kube(aks_lab, "secrets") if s.get("type") == "helm.sh/release.v1"] == []
    assert kube(aks_lab, "deployments", api="apps/v1") == [] and kube(aks_lab, "pods") == []
    _done, again = aks_lab.playbook("-e", "aks_state=absent", label="absent-again")
    assert again["failed"] == 0 and again["changed"] == 0, again
