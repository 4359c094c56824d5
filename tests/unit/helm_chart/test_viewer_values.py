"""The chart's OHIF viewer (values viewer:, templates/viewer-*.yaml), read from real `helm template` output: off by
default, on with Orthanc's pod security, reading this release's Orthanc Service; valid for Kubernetes, lint-clean
with every values file, refused with a reason when it cannot work, and checkov-clean."""
import importlib.util
import json
import os
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from helm_chart_render import CHART, CLOUD_FILES, FULLNAME, REPO, HelmError, helm, merged, render
from test_helm_checkov import CHECKOV

VIEWER = f"{FULLNAME}-viewer"
ON = {"viewer": {"enabled": True}}
# Every viewer template at once, on the chart's default (non-OpenShift) security.
EVERYTHING = {"viewer": {
    "enabled": True, "image": {"digest": "sha256:" + "b" * 64}, "tls": {"secretName": "viewer-tls"},
    "ingress": {"enabled": True, "className": "nginx", "hosts": [{"host": "viewer.pacs.example.org"}],
                "annotations": {"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS"},
                "tls": [{"secretName": "viewer-public-tls", "hosts": ["viewer.pacs.example.org"]}]},
    "route": {"enabled": True, "host": "viewer.apps.example.org"},
    "networkPolicy": {"from": [{"namespaceSelector": {"matchLabels": {"ingress": "true"}}}]}},
    "networkPolicy": {"ingress": {"httpFrom": [{"podSelector": {"matchLabels": {"role": "router"}}}]}}}


def viewer_docs(docs):
    return [d for d in docs if d["metadata"]["name"] == VIEWER]


def viewer_pod(docs):
    return docs.get("Deployment", VIEWER)["spec"]["template"]


def test_off_by_default_renders_nothing_of_the_viewer():
    docs = render()
    assert viewer_docs(docs) == []
    assert not any(rule.get("from") for rule in docs.get("NetworkPolicy")["spec"]["ingress"])


def test_on_renders_deployment_service_and_policy_with_orthanc_s_pod_security():
    docs = render(ON)
    assert sorted(d["kind"] for d in viewer_docs(docs)) == ["Deployment", "NetworkPolicy", "Service"]
    pod, orthanc = viewer_pod(docs)["spec"], docs.pod["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"] == orthanc["securityContext"]
    assert container["securityContext"] == docs.container["securityContext"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    assert [v for v in pod["volumes"] if v["name"] == "tmp"] == [
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}]
    assert container["image"] == "registry.example.org/medimaging/ohif-viewer:3.13.2"
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    # The viewer selects only its own pods, and Orthanc's Service only Orthanc's.
    service = docs.get("Service", VIEWER)
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "viewer"
    assert docs.get("Service")["spec"]["selector"]["app.kubernetes.io/component"] == "pacs"
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP",
                                         "appProtocol": "https"}]


def test_viewer_reads_this_release_s_orthanc_service_on_prem_style():
    docs = render(merged(ON, {"orthanc": {"dicomWeb": {"root": "/wado/"}}, "service": {"port": 8080}}))
    env = {e["name"]: e["value"] for e in viewer_pod(docs)["spec"]["containers"][0]["env"]}
    assert env == {"OHIF_VIEWER_DICOMWEB_URL": f"http://{FULLNAME}.pacs.svc:8080/wado",
                   "OHIF_VIEWER_DICOMWEB_PATH": "/wado", "OHIF_VIEWER_SERVER_NAME": f"{VIEWER}.pacs.svc",
                   "OHIF_VIEWER_LISTEN_PORT": "8443", "OHIF_VIEWER_HEALTH_PORT": "8081"}
    policy = docs.get("NetworkPolicy", VIEWER)["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    to_orthanc = policy["egress"][-1]
    assert to_orthanc["ports"] == [{"port": 8042, "protocol": "TCP"}]
    assert to_orthanc["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "pacs"


def test_orthanc_s_restricted_http_sources_let_the_viewer_in():
    docs = render(EVERYTHING)
    sources = docs.get("NetworkPolicy")["spec"]["ingress"][0]["from"]
    assert sources[0] == {"podSelector": {"matchLabels": {"role": "router"}}}
    assert sources[1]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "viewer"


def test_everything_on_mounts_the_tls_secret_and_fronts_reach_https():
    docs = render(EVERYTHING)
    pod = viewer_pod(docs)["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert container["image"] == "registry.example.org/medimaging/ohif-viewer@sha256:" + "b" * 64
    assert env["OHIF_VIEWER_TLS_CERT_PATH"] == "/run/medimaging/viewer-tls/tls.crt"
    assert env["OHIF_VIEWER_SERVER_NAME"] == "viewer.pacs.example.org"
    assert {"name": "tls", "secret": {"secretName": "viewer-tls", "defaultMode": 0o440}} in pod["volumes"]
    ingress = docs.get("Ingress", VIEWER)["spec"]["rules"][0]
    assert ingress["host"] == "viewer.pacs.example.org"
    assert ingress["http"]["paths"][0]["backend"]["service"] == {"name": VIEWER, "port": {"name": "https"}}
    route = docs.get("Route", VIEWER)["spec"]
    assert route["tls"]["termination"] == "reencrypt" and route["port"] == {"targetPort": "https"}


def test_on_openshift_the_service_ca_signs_the_viewer_certificate():
    docs = render(merged(ON, {"viewer": {"route": {"enabled": True}}}), files=("values-openshift.yaml",))
    annotations = docs.get("Service", VIEWER)["metadata"]["annotations"]
    assert annotations["service.beta.openshift.io/serving-cert-secret-name"] == f"{VIEWER}-tls"
    pod = viewer_pod(docs)["spec"]
    assert {"name": "tls", "secret": {"secretName": f"{VIEWER}-tls", "defaultMode": 0o440}} in pod["volumes"]
    assert "runAsUser" not in pod["securityContext"]  # restricted-v2 assigns it, as for Orthanc
    assert pod["securityContext"] == docs.pod["spec"]["securityContext"]
    assert "destinationCACertificate" not in docs.get("Route", VIEWER)["spec"]["tls"]


@pytest.mark.parametrize("version", ("1.30.0", "1.37.0"))
def test_viewer_manifests_valid_for_kubernetes(version):
    checked = 0
    for doc in viewer_docs(render(EVERYTHING)):
        if doc["kind"] == "Route":
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked == 4  # Deployment, Service, NetworkPolicy, Ingress


@pytest.mark.parametrize("values_file", ("values.yaml",) + CLOUD_FILES)
def test_helm_lint_strict_with_the_viewer_on(values_file, tmp_path):
    on = tmp_path / "viewer.yaml"
    on.write_text(json.dumps(ON), encoding="utf-8")
    args = ["lint", "--strict", CHART, "-f", os.path.join(CHART, values_file), "-f", str(on)]
    if values_file == "values.yaml":
        required = tmp_path / "required.yaml"
        required.write_text(json.dumps({"auth": {"existingSecret": "u"}, "database": {"external": {
            "host": "db", "credentialsSecret": {"name": "d"}}}}), encoding="utf-8")
        args += ["-f", str(required)]
    assert "1 chart(s) linted, 0 chart(s) failed" in helm(*args)


@pytest.mark.parametrize("values, message", [
    ({"viewer": {"image": {"tag": "latest"}}}, "at '/viewer/image/tag'"),
    ({"viewer": {"route": {"termination": "edge"}}}, "at '/viewer/route/termination'"),
    ({"viewer": {"listenPort": 80}}, "additional properties 'listenPort' not allowed"),
    ({"orthanc": {"authenticationEnabled": False}, "auth": {"existingSecret": ""}},
     "would show every study to anyone"),
    ({"orthanc": {"dicomWeb": {"enabled": False}}}, "viewer.enabled needs orthanc.dicomWeb.enabled"),
    ({"orthanc": {"dicomWeb": {"root": "/dicom web/"}}}, "orthanc.dicomWeb.root to be a path below /"),
    ({"viewer": {"ingress": {"enabled": True}}}, "viewer.ingress.enabled needs viewer.ingress.hosts"),
    ({"viewer": {"tls": {"secretName": "t", "openshiftServiceCA": True}}}, "give secretName or openshiftServiceCA"),
])
def test_values_that_cannot_work_are_refused_with_a_reason(values, message):
    with pytest.raises(HelmError, match=message.replace("(", r"\(").replace(".", r"\.")):
        render(merged(ON, values))


def test_anonymous_orthanc_is_accepted_only_when_an_sso_front_is_declared():
    docs = render(merged(ON, {"orthanc": {"authenticationEnabled": False}, "auth": {"existingSecret": ""},
                              "viewer": {"allowUnauthenticated": True}}))
    assert docs.get("Deployment", VIEWER)


def test_checkov_finds_nothing_new_in_the_viewer(tmp_path):
    """One checkov run (as test_helm_checkov runs it) over every viewer template: no failed check on the viewer's
    resources, and every skip one the chart gives a reason for."""
    subprocess.run(["bash", os.path.join(REPO, "scripts", "install-checkov.sh"), os.path.dirname(
        os.path.dirname(CHECKOV))], check=True, capture_output=True, timeout=900)
    values = tmp_path / "viewer.yaml"
    values.write_text(yaml.safe_dump(merged(
        {"auth": {"existingSecret": "u"}, "database": {"external": {"host": "db", "credentialsSecret": {"name": "d"}}}},
        EVERYTHING)), encoding="utf-8")
    done = subprocess.run([CHECKOV, "-d", CHART, "--framework", "helm", "--var-file", str(values), "--compact",
                           "--skip-download", "-o", "json"], capture_output=True, text=True, timeout=600, check=False,
                          env=dict(os.environ, BC_SKIP_MAPPING="TRUE"))
    report = json.loads(done.stdout)
    report = report if isinstance(report, dict) else report[0]
    results = report["results"]
    viewer_checks = [c for c in results["passed_checks"] + results["failed_checks"] if "viewer" in c["resource"]]
    assert len(viewer_checks) > 50, "checkov did not scan the viewer's resources"
    assert [f"{c['check_id']} {c['resource']}" for c in results["failed_checks"]] == []
    skipped = results["skipped_checks"]
    assert {c["check_id"] for c in skipped} <= {"CKV_K8S_21", "CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_40"}


# --- viewer.mode cloud: the cloud DICOM service through the image's token broker -----------------------------------
DICOM_URL = "https://hospitalws-pacs.dicom.azurehealthcareapis.com/v2"
TOKEN_ENDPOINT = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
CLOUD = {"viewer": {"enabled": True, "mode": "cloud", "cloud": {
    "url": DICOM_URL, "htpasswd": {"secretName": "viewer-users", "key": "htpasswd"},
    "authentication": {"type": "client-credentials", "tokenEndpoint": TOKEN_ENDPOINT, "clientId": "app-1",
                       "clientSecret": {"secretName": "viewer-dicom-client", "key": "secret"}}},
    "networkPolicy": {"egress": [{"cidr": "20.0.0.0/8", "ports": [{"port": 443, "protocol": "TCP"}]}]}}}
WORKLOAD = merged(CLOUD, {
    "workloadIdentity": {"enabled": True, "clientId": "identity-1", "tenantId": "tenant-1"},
    "viewer": {"allowUnauthenticated": True, "cloud": {"htpasswd": None, "authentication": {
        "type": "workload-identity", "tokenEndpoint": "", "clientId": "", "clientSecret": None}}}})


def viewer_env(docs):
    return {e["name"]: e["value"] for e in viewer_pod(docs)["spec"]["containers"][0]["env"]}


def test_cloud_client_credentials_secret_and_htpasswd_are_mounted_files_never_values():
    docs = render(CLOUD)
    env, pod = viewer_env(docs), viewer_pod(docs)
    assert env["OHIF_VIEWER_MODE"] == "cloud" and env["OHIF_VIEWER_DICOMWEB_URL"] == DICOM_URL
    assert env["OHIF_VIEWER_DICOMWEB_PATH"] == "/dicom-web"
    assert json.loads(env["OHIF_VIEWER_OAUTH"]) == {
        "Provider": "client_credentials", "TokenEndpoint": TOKEN_ENDPOINT, "ClientId": "app-1",
        "ClientSecretFile": "/run/medimaging/viewer-secrets/client-secret"}
    assert env["OHIF_VIEWER_HTPASSWD_PATH"] == "/run/medimaging/viewer-secrets/htpasswd"
    assert "OHIF_VIEWER_SSO_FRONT" not in env and "OHIF_VIEWER_DICOMWEB_CA_PATH" not in env
    assert not [e for e in pod["spec"]["containers"][0]["env"] if "valueFrom" in e]
    secrets = next(v for v in pod["spec"]["volumes"] if v["name"] == "secrets")["projected"]
    assert secrets["defaultMode"] == 0o440
    assert secrets["sources"] == [
        {"secret": {"name": "viewer-dicom-client", "items": [{"key": "secret", "path": "client-secret"}]}},
        {"secret": {"name": "viewer-users", "items": [{"key": "htpasswd", "path": "htpasswd"}]}}]
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "secrets", "mountPath": "/run/medimaging/viewer-secrets", "readOnly": True} in mounts
    # No identity of the release's: no service account, no workload identity label.
    assert "serviceAccountName" not in pod["spec"] and pod["spec"]["automountServiceAccountToken"] is False
    assert "azure.workload.identity/use" not in pod["metadata"]["labels"]


def test_cloud_oauth_settings_are_accepted_by_the_plugin_s_own_schema():
    sys.path.insert(0, os.path.join(REPO, "files", "orthanc-plugin"))
    from medimaging_plugin.config import checks  # pylint: disable=import-outside-toplevel
    from medimaging_plugin.config.oauth import load_oauth_settings  # pylint: disable=import-outside-toplevel
    server = {**json.loads(viewer_env(render(CLOUD))["OHIF_VIEWER_OAUTH"]), "Url": DICOM_URL}
    planned = {"/run/medimaging/viewer-secrets/client-secret"} - checks.PLANNED_FILES
    checks.PLANNED_FILES.update(planned)  # the file the pod mounts
    try:
        settings = load_oauth_settings({"DicomWebOAuth": {"Servers": {"viewer": server}}}, {})
    finally:
        checks.PLANNED_FILES.difference_update(planned)
    assert settings.servers[0].provider == "client_credentials"
    assert settings.servers[0].secret.describe().startswith("file")


def test_cloud_egress_is_dns_and_the_given_addresses_not_orthanc():
    policy = render(CLOUD).get("NetworkPolicy", VIEWER)["spec"]
    assert policy["egress"][0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert policy["egress"][1:] == [{"to": [{"ipBlock": {"cidr": "20.0.0.0/8"}}],
                                     "ports": [{"port": 443, "protocol": "TCP"}]}]


def test_cloud_workload_identity_reuses_the_release_s_service_account_and_webhook_label():
    docs = render(WORKLOAD)
    pod, env = viewer_pod(docs), viewer_env(docs)
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == FULLNAME
    account = docs.get("ServiceAccount")["metadata"]["annotations"]
    assert account["azure.workload.identity/client-id"] == "identity-1"
    # The webhook's AZURE_CLIENT_ID/TENANT_ID/FEDERATED_TOKEN_FILE fill in the rest.
    assert json.loads(env["OHIF_VIEWER_OAUTH"]) == {"Provider": "workload_identity"}
    assert env["OHIF_VIEWER_SSO_FRONT"] == "true" and "OHIF_VIEWER_HTPASSWD_PATH" not in env
    assert not [v for v in pod["spec"]["volumes"] if v["name"] == "secrets"]


def test_cloud_private_ca_from_a_config_map_for_the_service_and_optionally_the_token_endpoint():
    docs = render(merged(CLOUD, {"viewer": {"cloud": {"caBundle": {"configMap": "hospital-ca", "forTokens": True},
                                                      "options": {"Scope": "api://dicom/.default"}}}}))
    env, pod = viewer_env(docs), viewer_pod(docs)
    assert env["OHIF_VIEWER_DICOMWEB_CA_PATH"] == "/run/medimaging/viewer-ca/ca.crt"
    oauth = json.loads(env["OHIF_VIEWER_OAUTH"])
    assert oauth["CaBundle"] == "/run/medimaging/viewer-ca/ca.crt" and oauth["Scope"] == "api://dicom/.default"
    assert {"name": "ca", "configMap": {"name": "hospital-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}} in \
        pod["spec"]["volumes"]
    without = json.loads(viewer_env(render(merged(CLOUD, {"viewer": {"cloud": {"caBundle": {
        "configMap": "hospital-ca"}}}})))["OHIF_VIEWER_OAUTH"])
    assert "CaBundle" not in without  # Entra ID's public CA stays trusted for tokens


def test_cloud_mode_needs_no_orthanc_dicomweb_and_is_valid_for_kubernetes():
    docs = render(merged(CLOUD, {"orthanc": {"dicomWeb": {"enabled": False}}}))
    for doc in viewer_docs(docs):
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
    assert sorted(d["kind"] for d in viewer_docs(docs)) == ["Deployment", "NetworkPolicy", "Service"]


@pytest.mark.parametrize("values, message", [
    ({"viewer": {"cloud": {"url": ""}}}, "viewer.mode cloud needs viewer.cloud.url"),
    ({"viewer": {"cloud": {"url": "http://dicom.example.org/v2"}}}, "at '/viewer/cloud/url'"),
    ({"viewer": {"mode": "hybrid"}}, "at '/viewer/mode'"),
    ({"viewer": {"cloud": {"authentication": {"clientSecret": None}}}}, "client-credentials needs tokenEndpoint"),
    ({"viewer": {"cloud": {"authentication": {"type": "static"}}}}, "at '/viewer/cloud/authentication/type'"),
    ({"viewer": {"cloud": {"options": {"ClientSecret": "s3cret"}}}}, "at '/viewer/cloud/options/ClientSecret'"),
    ({"viewer": {"cloud": {"authentication": {"type": "workload-identity", "clientSecret": None}}}},
     "workload-identity needs workloadIdentity.enabled"),
    ({"viewer": {"cloud": {"authentication": {"type": "managed-identity"}}}},
     "clientSecret is for client-credentials only"),
    ({"viewer": {"cloud": {"htpasswd": None}}}, "viewers must be authenticated"),
])
def test_cloud_values_that_cannot_work_are_refused_with_a_reason(values, message):
    with pytest.raises(HelmError, match=message.replace("(", r"\(").replace(".", r"\.")):
        render(merged(CLOUD, values))


def _image_entrypoint():
    """images/ohif-viewer/entrypoint.py with its folders pointed at the repository (the image's layout there)."""
    spec = importlib.util.spec_from_file_location("ohif_viewer_entrypoint",
                                                  os.path.join(REPO, "images", "ohif-viewer", "entrypoint.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROLE = os.path.join(REPO, "roles", "ohif_viewer")
    module.HOME = os.path.join(REPO, "images", "ohif-viewer")
    module.LIB = os.path.join(REPO, "files", "orthanc-plugin")
    return module


@pytest.mark.parametrize("values", [ON, CLOUD, WORKLOAD], ids=["onprem", "cloud-client-credentials",
                                                                "cloud-workload-identity"])
def test_the_image_accepts_every_environment_the_chart_gives_it(values, tmp_path):
    """The chart's OHIF_VIEWER_* values go through the image's own settings check, the role's rules and (cloud) the
    plugin's schema, and render the role's site: chart and image agree on every name and value."""
    entrypoint = _image_entrypoint()
    environ = viewer_env(render(values))
    mounted = {"/run/medimaging/viewer-secrets/client-secret"}
    if json.loads(environ.get("OHIF_VIEWER_OAUTH", "{}")).get("Provider") == "workload_identity":
        token = tmp_path / "azure-identity-token"  # what the webhook projects and names in AZURE_* variables
        token.write_text("federated", encoding="utf-8")
        environ.update(AZURE_FEDERATED_TOKEN_FILE=str(token), AZURE_CLIENT_ID="identity-1", AZURE_TENANT_ID="t-1")
    sys.path.insert(0, entrypoint.LIB)
    from medimaging_plugin.config import checks  # pylint: disable=import-outside-toplevel
    planned = mounted - checks.PLANNED_FILES
    checks.PLANNED_FILES.update(planned)
    try:
        variables = entrypoint.render(environ, run=str(tmp_path / "run"))
    finally:
        checks.PLANNED_FILES.difference_update(planned)
    site = (tmp_path / "run" / "site.conf").read_text(encoding="utf-8")
    assert variables["ohif_viewer_mode"] == values["viewer"].get("mode", "onprem")
    assert ("auth_request /_medimaging/token;" in site) == (variables["ohif_viewer_mode"] == "cloud")
