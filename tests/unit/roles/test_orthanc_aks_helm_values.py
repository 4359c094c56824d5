"""orthanc_aks_helm's values generator (templates/values.yml.j2): what each input does to the chart values, that no
password or client secret ever lands in them, and that the chart renders them (`helm template`)."""
import os
import subprocess

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
ROLE = os.path.join(REPO, "roles", "orthanc_aks_helm")
HELM = os.path.join(REPO, ".cache", "tools", "bin", "helm")
PASSWORD, USER_PASSWORD = "Pg-Secret-Value-0001", "User-Secret-Value-0001"


def trusted(value):
    """Role files are templates to Ansible (what it loads from a role is trusted); plain YAML loading is not."""
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return trust_as_template(value) if isinstance(value, str) else value


def role_vars(**overrides):
    variables = {}
    for folder in ("defaults", "vars"):
        with open(os.path.join(ROLE, folder, "main.yml"), encoding="utf-8") as handle:
            variables.update(trusted(yaml.safe_load(handle)))
    variables.update({
        "role_path": ROLE, "orthanc_aks_helm_resource_group": "rg", "orthanc_aks_helm_cluster_name": "aks",
        "orthanc_aks_helm_tenant_id": "tenant-1", "orthanc_aks_helm_key_vault_name": "kv-pacs",
        "orthanc_aks_helm_identity": {"client_id": "client-1", "principal_id": "principal-1"},
        "orthanc_aks_helm_image": {"repository": "registry.example/orthanc", "tag": "1.0"},
        "orthanc_aks_helm_dicom_service_id": "/subscriptions/s/x/dicomservices/pacs",
        "orthanc_aks_helm_dicom_service_url": "https://ws-pacs.dicom.azurehealthcareapis.com/",
        "orthanc_aks_helm_archive_account_id": "/subscriptions/s/x/storageAccounts/arch",
        "orthanc_aks_helm_archive_container_url": "https://arch.blob.core.windows.net/studies",
        "orthanc_aks_helm_postgres_host": "pg.postgres.database.azure.com", "orthanc_aks_helm_postgres_user": "orthanc",
        "orthanc_aks_helm_postgres_password": PASSWORD, "orthanc_aks_helm_users": {"radiology": USER_PASSWORD},
    })
    variables.update(overrides)
    return variables


def render(**overrides):
    with open(os.path.join(ROLE, "templates", "values.yml.j2"), encoding="utf-8") as handle:
        source = handle.read()
    text = Templar(loader=DataLoader(), variables=role_vars(**overrides)).template(trust_as_template(source))
    assert PASSWORD not in text and USER_PASSWORD not in text
    return yaml.safe_load(text)


def test_key_vault_source_names_vault_objects_and_workload_identity():
    values = render()
    assert values["workloadIdentity"] == {"enabled": True, "clientId": "client-1", "tenantId": "tenant-1"}
    assert values["secrets"]["azureKeyVault"] == {"enabled": True, "vaultName": "kv-pacs", "tenantId": "tenant-1"}
    assert values["auth"] == {"keyVaultObject": "orthanc-users"}
    assert values["database"]["external"]["credentialsKeyVault"] == {"usernameObject": "orthanc-db-username",
                                                                     "passwordObject": "orthanc-db-password"}
    server = values["oauthPlugin"]["servers"]["azure-dicom"]
    assert server == {"url": "https://ws-pacs.dicom.azurehealthcareapis.com/v2/", "authentication": {
        "type": "workload-identity", "scope": "https://dicom.healthcareapis.azure.com/.default"}}
    assert values["plugin"]["router"]["Destinations"]["cloud"] == {"Type": "dicomweb", "Server": "azure-dicom"}
    assert values["plugin"]["archive"]["TokenServer"]["Provider"] == "workload_identity"
    assert values["dicom"]["service"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true"}


def test_kubernetes_source_and_outbound_ca():
    values = render(orthanc_aks_helm_secrets_source="kubernetes", orthanc_aks_helm_outbound_ca_bundle="PEM",
                    orthanc_aks_helm_archive_container_url="", orthanc_aks_helm_priors_count=0)
    assert values["secrets"]["azureKeyVault"]["enabled"] is False
    assert values["auth"] == {"existingSecret": "orthanc-users", "usersKey": "users"}
    assert values["database"]["external"]["credentialsSecret"]["name"] == "orthanc-database"
    assert values["secretFiles"] == [{"alias": "outbound-ca", "secretName": "orthanc-outbound-ca", "key": "ca.pem"}]
    assert values["config"] == {"HttpsCACertificates": "/run/medimaging/secrets/outbound-ca"}
    assert values["oauthPlugin"]["settings"] == {"CaBundle": "/run/medimaging/secrets/outbound-ca"}
    assert set(values["plugin"]) == {"router"}


def test_without_a_dicom_service_the_plugin_has_no_server():
    values = render(orthanc_aks_helm_dicom_service_id="", orthanc_aks_helm_dicom_service_url="")
    assert values["oauthPlugin"] == {"enabled": False} and "router" not in (values["plugin"] or {})


@pytest.mark.parametrize("source", ["key_vault", "kubernetes"])
def test_the_chart_renders_the_generated_values(tmp_path, source):
    if not os.path.exists(HELM):
        pytest.fail("helm is missing from .cache/tools/bin: run `make setup`")
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(render(orthanc_aks_helm_secrets_source=source, orthanc_aks_helm_replicas=2,
                                          orthanc_aks_helm_ingress_host="pacs.example.org")))
    done = subprocess.run([HELM, "template", "orthanc", os.path.join(REPO, "files", "helm", "orthanc"), "-n", "pacs",
                           "-f", str(path)], capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, HOME=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert deployment["spec"]["replicas"] == 2
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Service"} == {"orthanc", "orthanc-dicom"}
    assert PASSWORD not in done.stdout and USER_PASSWORD not in done.stdout
