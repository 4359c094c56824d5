"""roles/openshift_pacs on the OpenShift-flavoured lab cluster (API, restricted-v2 SCC admission, Routes on a real
HAProxy, pods run by podman): one converge for the module, then what it made is checked from the outside (the edge
Route over HTTPS by SNI, a modality's C-STORE through the NodePort), a second converge and a --check run change
nothing, bad inputs are refused with nothing written, and teardown keeps the images' claim."""
import base64
import io
import http.client
import json
import os
import socket
import ssl
import subprocess

from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # pylint: disable=no-name-in-module

from openshift_pacs_harness import CLOUD_TOKEN, PROJECT, RELEASE, USERS, eventually, succeeded

from lab.ca import LabCA
from lab.dicom_factory import make_study
from lab.kube.flavours import namespaces

CREDENTIALS = "Basic " + base64.b64encode(("radiology:" + USERS["radiology"]).encode()).decode()
ROLE_KINDS = (("v1", "secrets"), ("route.openshift.io/v1", "routes"), ("networking.k8s.io/v1", "networkpolicies"),
              ("apps/v1", "deployments"), ("v1", "services"), ("v1", "configmaps"),
              ("v1", "persistentvolumeclaims"))


def snapshot(role_lab, namespace=PROJECT):
    """(kind, name) -> resourceVersion of what the role and its chart make: a write of any of them shows."""
    return {(plural, item["metadata"]["name"]): item["metadata"]["resourceVersion"]
            for api_version, plural in ROLE_KINDS
            for item in role_lab.cluster.store.list(api_version, plural, namespace)}


EGRESS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "egressfirewalls.k8s.ovn.org"},
    "spec": {"group": "k8s.ovn.org", "scope": "Namespaced",
             "names": {"plural": "egressfirewalls", "singular": "egressfirewall", "kind": "EgressFirewall",
                       "listKind": "EgressFirewallList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


class _SniConnection(http.client.HTTPSConnection):
    """HTTPS to the router on 127.0.0.1 with the route's host as SNI and Host (no wildcard DNS here)."""

    def connect(self):
        self.sock = self._context.wrap_socket(socket.create_connection(("127.0.0.1", self.port), timeout=10),
                                              server_hostname=self.host)


def through_route(role_lab, path, tls=True):
    route = role_lab.get("route.openshift.io/v1", "routes", RELEASE)
    router = role_lab.cluster.extensions[0].report()["router"]
    host = route["spec"]["host"]
    if tls:
        context = ssl.create_default_context(cafile=role_lab.cluster.ca_file)
        connection = _SniConnection(host, router["https"], context=context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", router["http"], timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host, "Authorization": CREDENTIALS})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_converge_runs_under_restricted_v2_behind_an_edge_route(role_lab, converged):
    result, _ = converged
    assert result["failed"] == 0 and result["changed"] > 0
    (pod,) = [p for p in role_lab.cluster.store.list("v1", "pods", PROJECT)
              if p["metadata"]["labels"].get("app.kubernetes.io/component") == "pacs"]
    assert pod["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"
    project = role_lab.cluster.store.get("v1", "namespaces", "", PROJECT)
    assert project["metadata"]["annotations"]["openshift.io/requester"]          # requested as a project
    first, last = namespaces.parse_range(project["metadata"]["annotations"][namespaces.UID_RANGE])
    assert first <= pod["spec"]["containers"][0]["securityContext"]["runAsUser"] <= last

    # The router reloads HAProxy once the route's endpoints are Ready.
    status, body = eventually(lambda: through_route(role_lab, "/system"), lambda answer: answer[0] == 200)
    assert status == 200 and json.loads(body)["DicomAet"] == "OSPACS"
    assert through_route(role_lab, "/system", tls=False)[0] == 302   # plain HTTP is redirected to HTTPS

    deny = role_lab.get("networking.k8s.io/v1", "networkpolicies", RELEASE + "-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    pacs = role_lab.get("networking.k8s.io/v1", "networkpolicies", RELEASE)["spec"]
    http_rule, dicom_rule = pacs["ingress"]
    assert http_rule["from"] == [{"namespaceSelector": {"matchLabels": {
        "network.openshift.io/policy-group": "ingress"}}}]
    assert dicom_rule["from"] == [{"ipBlock": {"cidr": "10.20.30.0/24"}}]
    assert pacs["egress"] == [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]
    dicom = role_lab.get("v1", "services", RELEASE + "-dicom")["spec"]
    assert dicom["type"] == "NodePort" and dicom["externalTrafficPolicy"] == "Local"


def test_a_modality_stores_through_the_node_port(role_lab, converged):
    study = [dcmread(io.BytesIO(raw)) for raw in make_study(instances=2, patient_id="OSHIFT01")]
    ae = AE(ae_title="CTSCANNER")
    ae.add_requested_context(CTImageStorage)
    association = ae.associate("127.0.0.1", role_lab.node_port, ae_title="OSPACS")
    try:
        assert association.is_established
        assert [association.send_c_store(ds).Status for ds in study] == [0x0000, 0x0000]
    finally:
        association.release()
    status, body = through_route(role_lab, "/studies?expand")
    assert status == 200
    assert study[0].StudyInstanceUID in [s["MainDicomTags"]["StudyInstanceUID"] for s in json.loads(body)]


def test_the_plugin_reads_its_sections_and_secret_files(role_lab, converged):
    status, body = through_route(role_lab, "/medimaging/status")
    assert status == 200
    assert json.loads(body)["DicomWebOAuth"]["state"] == "running", body
    status, body = through_route(role_lab, "/dicom-web/servers")
    assert status == 200 and "cloud" in json.loads(body)        # registered by the plugin with the file's token
    config = role_lab.get("v1", "configmaps", RELEASE)["data"]
    assert CLOUD_TOKEN not in json.dumps(config)                 # the token is a mounted file, never configuration
    assert json.loads(config["orthanc.json"])["DicomWebOAuth"]["Servers"]["cloud"]["StaticTokenFile"] == \
        "/run/medimaging/secrets/cloud-token"


def test_second_converge_and_check_mode_change_nothing(role_lab, converged):
    before = snapshot(role_lab)
    fresh = "pacs-not-yet"
    again, check, check_fresh = role_lab.play_together([
        (role_lab.inputs(), ()), (role_lab.inputs(), ("--check",)),
        (role_lab.inputs(openshift_pacs_project=fresh), ("--check",))])
    assert succeeded(again)["changed"] == 0
    assert succeeded(check)["changed"] == 0
    assert succeeded(check_fresh)["changed"] > 0                         # it would request the project ...
    assert role_lab.cluster.store.get("v1", "namespaces", "", fresh) is None   # ... and wrote nothing
    assert snapshot(role_lab) == before


def test_bad_inputs_are_refused_before_any_change(role_lab, converged):
    bare = "not-a-project"
    kubectl = ("kubectl", "--kubeconfig", role_lab.kubeconfig)
    subprocess.run((*kubectl, "create", "namespace", bare), check=True, capture_output=True)
    subprocess.run((*kubectl, "annotate", "namespace", bare, namespaces.UID_RANGE + "-"), check=True,
                   capture_output=True)
    # The chart's schema refuses privilege and added capabilities itself; runAsUser only the role's own check finds.
    cases = {
        "privileged": {"openshift_pacs_chart_values": {"containerSecurityContext": {
            "privileged": True, "capabilities": {"add": ["NET_ADMIN"]}}}},
        "run_as_user": {"openshift_pacs_chart_values": {"podSecurityContext": {"runAsUser": 1000}}},
        "latest": {"openshift_pacs_image_tag": "latest"},
        "dicom_route_without_tls": {"openshift_pacs_dicom_route_enabled": True},
        "no_uid_range": {"openshift_pacs_project": bare},
    }
    cases_file = os.path.join(role_lab.workdir, "cases.json")
    answers_file = os.path.join(role_lab.workdir, "answers.json")
    with open(cases_file, "w", encoding="utf-8") as out:
        json.dump(cases, out)
    before, bare_before = snapshot(role_lab), snapshot(role_lab, bare)
    inputs = role_lab.inputs()
    varied = {key: inputs.pop(key) for key in ("openshift_pacs_chart_values", "openshift_pacs_dicom_route_enabled",
                                                 "openshift_pacs_project", "openshift_pacs_image_tag")
              if key in inputs}
    defaults = {"openshift_pacs_chart_values": {}, "openshift_pacs_dicom_route_enabled": False, **varied}
    done = role_lab.play(dict(inputs, refusal_defaults=defaults, refusal_cases_file=cases_file,
                              refusal_answers_file=answers_file), playbook="refusals.yml")
    succeeded(done)
    with open(answers_file, encoding="utf-8") as handle:
        answers = json.load(handle)
    expected = {"privileged": ("privileged", "capabilities/add"), "run_as_user": ("runAsUser is set",),
                "latest": ("'latest'",),
                "dicom_route_without_tls": ("a Route carries only HTTP",),
                "no_uid_range": ("has no openshift.io/sa.scc.uid-range",)}
    for case, words in expected.items():
        assert all(w in answers[case] for w in words) and "Nothing was changed" in answers[case], (case, answers[case])
    assert snapshot(role_lab) == before and snapshot(role_lab, bare) == bare_before
    assert USERS["radiology"] not in done.stdout and CLOUD_TOKEN not in done.stdout


def test_route_certificate_from_a_tls_secret_and_an_ovn_egress_firewall(role_lab, converged):
    host = "pacs-web.hospital.lab"
    cert_file, key_file = LabCA(role_lab.cluster.ca_dir).issue_server_cert("pacs-web", sans=(host,))
    kubectl = ("kubectl", "--kubeconfig", role_lab.kubeconfig, "-n", PROJECT)
    subprocess.run((*kubectl, "create", "secret", "tls", "pacs-web-tls", "--cert", cert_file, "--key", key_file),
                   check=True, capture_output=True)
    # OVN-Kubernetes' CRD, as an OVN cluster serves it (the lab's OpenShift flavour installs and enforces it too:
    # test_openshift_pacs_in_cluster_db.py proves the enforcement; applying it again changes nothing).
    subprocess.run(("kubectl", "--kubeconfig", role_lab.kubeconfig, "apply", "-f", "-"), input=json.dumps(EGRESS_CRD),
                   text=True, check=True, capture_output=True)
    cloud = [{"cidr": "192.0.2.0/24", "ports": [{"port": 443, "protocol": "TCP"}]}]
    done = role_lab.play(role_lab.inputs(openshift_pacs_route_host=host, openshift_pacs_route_tls_secret="pacs-web-tls",
                                         openshift_pacs_cloud_egress=cloud, openshift_pacs_egress_firewall_enabled=True,
                                         openshift_pacs_egress_firewall_dns_names=["login.microsoftonline.com"]))
    assert succeeded(done)["changed"] > 0
    firewall = role_lab.get("k8s.ovn.org/v1", "egressfirewalls", "default")["spec"]["egress"]
    assert firewall == [{"type": "Allow", "to": {"cidrSelector": "192.0.2.0/24"},
                         "ports": [{"port": 443, "protocol": "TCP"}]},
                        {"type": "Allow", "to": {"dnsName": "login.microsoftonline.com"}},
                        {"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}]
    egress = role_lab.get("networking.k8s.io/v1", "networkpolicies", RELEASE)["spec"]["egress"]
    assert egress[1] == {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
    with open(key_file, encoding="ascii") as handle:
        assert handle.read().strip().splitlines()[1] not in done.stdout      # the key stays out of the output
    route = role_lab.get("route.openshift.io/v1", "routes", RELEASE)["spec"]
    assert route["host"] == host and route["tls"]["termination"] == "edge"

    def served():
        router = role_lab.cluster.extensions[0].report()["router"]
        context = ssl.create_default_context(cafile=role_lab.cluster.ca_file)
        with context.wrap_socket(socket.create_connection(("127.0.0.1", router["https"]), timeout=10),
                                 server_hostname=host) as sock:
            return 200, sock.getpeercert(binary_form=True)

    with open(cert_file, encoding="ascii") as handle:
        leaf = handle.read().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    ours = ssl.PEM_cert_to_DER_cert(leaf.strip() + "\n")
    assert eventually(served, lambda answer: answer[1] == ours)[1] == ours   # the router serves our certificate


def test_absent_removes_what_it_made_and_keeps_the_claim(role_lab, converged):
    succeeded(role_lab.play(role_lab.inputs(openshift_pacs_state="absent")))
    left = snapshot(role_lab)
    assert ("persistentvolumeclaims", RELEASE) in left                    # patient images outlive the release
    assert not [key for key in left if key[0] in ("routes", "networkpolicies", "deployments")]
    assert not [key for key in left if key[0] == "secrets" and key[1] in (RELEASE + "-users", RELEASE + "-files")]
    assert ("secrets", "pacs-web-tls") in left                           # the hospital's certificate is not ours
    assert role_lab.get("k8s.ovn.org/v1", "egressfirewalls", "default") is None
    assert role_lab.cluster.store.get("v1", "namespaces", "", PROJECT)    # the project stays unless asked
