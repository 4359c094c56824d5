"""playbooks/azure_production_aks.yml in the lab (one converge for the module, conftest.py): the pod Ready with
workload identity and no client secret anywhere; the plugin holding a token obtained through workload identity;
a study stored in Orthanc reaching the lab's DICOM service by STOW through the plugin, as the identity; the index
in the PostgreSQL flexible server's database; the metrics endpoint answering. Then the same playbook in check
mode on the converged state: changed=0 (idempotent) and nothing written, neither to ARM (the emulator's request
log) nor to the cluster (its resourceVersion counter). One check-mode pass stands for both the idempotence run
and the check-mode run: the modules compare the same way in both, and a full converge costs minutes here."""
import base64
import json
import os
import time
import urllib.error
import urllib.request

import psycopg
import yaml

from lab.dicom_factory import make_instance

NAMESPACE, RELEASE = "pacs", "orthanc"


def kube(aks_lab, plural, name=None, api="v1"):
    store = aks_lab.cluster.store
    return store.get(api, plural, NAMESPACE, name) if name else store.list(api, plural, NAMESPACE)


def inventory_value(aks_lab, name):
    """A lab password the inventory generated (ansible's password lookup files under LAB_DIR)."""
    with open(os.path.join(aks_lab.env["lab_dir"], "aks-lab", name), encoding="utf-8") as handle:
        return handle.read().split()[0]


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


def identity(aks_lab):
    """The user-assigned identity the role made (read from the emulator's ARM)."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.msi import ManagedServiceIdentityClient
    env = aks_lab.env
    credential = ClientSecretCredential(env["tenant_id"], env["client_id"], env["client_secret"],
                                        authority=env["authority_host"], disable_instance_discovery=True,
                                        connection_verify=env["ca_bundle"])
    client = ManagedServiceIdentityClient(credential, env["subscription_id"], base_url=env["arm_endpoint"],
                                          credential_scopes=["https://management.azure.com/.default"],
                                          connection_verify=env["ca_bundle"])
    return client.user_assigned_identities.get("rg-aks-lab", "id-" + RELEASE)


def request_log(aks_lab, offset=0):
    with open(aks_lab.env["request_log"], encoding="utf-8") as handle:
        handle.seek(offset)
        return [json.loads(line) for line in handle if line.strip()]


def wait_for(what, probe, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            assert found, "timed out waiting for " + what
            return found
        time.sleep(1)


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
    router = json.loads(orthanc(aks_lab, "/medimaging/router/status")[1])["destinations"]["cloud"]
    assert router["dead"] == 0 and router["bytes_sent"] > 0


def test_index_is_in_the_flexible_servers_database(aks_lab, converged):
    with psycopg.connect(host="127.0.0.1", port=aks_lab.env["postgres_port"], dbname="orthanc_aks",
                         user="orthanc_aks", password=inventory_value(aks_lab, "pg-password")) as connection:
        patients = connection.execute("SELECT count(*) FROM resources WHERE resourcetype = 0").fetchone()[0]
    status, body = orthanc(aks_lab, "/patients")
    assert status == 200 and patients == len(json.loads(body)) >= 1


def test_metrics_answer(aks_lab, converged):
    status, body = orthanc(aks_lab, "/medimaging/metrics")
    assert status == 200
    assert 'medimaging_oauth_token_acquisitions_total{server="azure-dicom",result="success"}' in body.decode()


def test_check_mode_on_the_converged_scenario_changes_and_writes_nothing(aks_lab, converged):
    offset = os.path.getsize(aks_lab.env["request_log"])
    version = aks_lab.cluster.store.resource_version
    _done, summary = aks_lab.playbook("--check", label="check")
    assert summary["failed"] == 0 and summary["changed"] == 0, summary
    writes = [(e["method"], e["path"]) for e in request_log(aks_lab, offset)
              if e["path"].lower().startswith("/subscriptions/") and e["method"] != "GET"
              and not e["path"].endswith("/listClusterUserCredential")]   # a POST that only reads
    assert writes == []
    assert aks_lab.cluster.store.resource_version == version, "check mode wrote to the cluster"

