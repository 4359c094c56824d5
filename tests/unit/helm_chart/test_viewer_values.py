"""The chart's OHIF viewer (values viewer:, templates/viewer-*.yaml), read from real `helm template` output: off by
default, on with Orthanc's pod security, reading this release's Orthanc Service; valid for Kubernetes, lint-clean
with every values file, refused with a reason when it cannot work, and checkov-clean."""
import json
import os
import subprocess

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
