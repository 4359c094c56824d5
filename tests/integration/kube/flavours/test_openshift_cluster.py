"""The OpenShift flavour on a running lab cluster: ProjectRequest, SCCs, restricted-v2 on real pods, an edge Route.

kubectl finds Routes, SCCs and Projects through discovery. A Deployment's pod without runAsUser runs with the first UID of its namespace's range (read inside the container
by `id -u`, served over HTTP) and that answer comes back through HAProxy over TLS on an edge Route whose host
was defaulted; a root pod is refused with OpenShift's words.
"""
import http.client
import json
import socket
import ssl
import subprocess

import pytest

from lab.containers import images
from lab.kube.api.errors import ApiError
from lab.kube.cluster import running_cluster
from lab.kube.flavours import namespaces

from flavour_helpers import ADMIN, DEVELOPER, wait_until

HOST_IMAGE = "localhost/medimaging/host:trixie"     # has python3 for a one-line web server
# sh stays PID 1 and traps the image's stop signal (SIGRTMIN+3 = 37, a systemd image) and TERM: PID 1 ignores
# signals it has no handler for, and the pod would take podman's 10 s stop timeout to go.
WEB = ("mkdir -p /tmp/www; id -u > /tmp/www/uid; id -G > /tmp/www/groups; cd /tmp/www; "
       "python3 -m http.server 8080 & trap 'kill $!; exit 0' TERM 37; wait")


@pytest.fixture(scope="module")
def cluster():
    images.ensure("host-trixie")
    with running_cluster("it-openshift", "openshift", pods=True) as the_cluster:
        yield the_cluster


@pytest.fixture(scope="module")
def project(cluster):
    cluster.store.create({"apiVersion": "project.openshift.io/v1", "kind": "ProjectRequest",
                          "metadata": {"name": "pacs"}, "displayName": "PACS"}, ADMIN)
    return cluster.store.get("v1", "namespaces", "", "pacs")


def test_project_request_makes_an_annotated_namespace_and_a_project(cluster, project):
    annotations = project["metadata"]["annotations"]
    assert namespaces.parse_range(annotations[namespaces.UID_RANGE])
    assert annotations[namespaces.MCS].startswith("s0:c")
    assert annotations["openshift.io/display-name"] == "PACS"
    assert annotations["openshift.io/requester"] == "lab-admin"
    assert cluster.store.get("project.openshift.io/v1", "projects", "", "pacs")["status"]["phase"] == "Active"
    assert namespaces.UID_RANGE in cluster.store.get("v1", "namespaces", "", "default")["metadata"]["annotations"]
    direct = cluster.store.create({"apiVersion": "project.openshift.io/v1", "kind": "Project",
                                   "metadata": {"name": "direct"}}, ADMIN)
    assert direct["status"] == {"phase": "Active"} and cluster.store.get("v1", "namespaces", "", "direct")
    cluster.store.delete("project.openshift.io/v1", "projects", "", "direct", ADMIN)
    gone = cluster.store.get("v1", "namespaces", "", "direct")
    assert gone is None or gone["metadata"].get("deletionTimestamp")       # the namespace goes with its project
    names = {scc["metadata"]["name"] for scc in cluster.store.list("security.openshift.io/v1",
                                                                  "securitycontextconstraints")}
    assert {"restricted-v2", "anyuid", "privileged"} <= names


def test_root_pod_is_refused_with_the_scc_message(cluster, project):
    root = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "pacs"},
            "spec": {"containers": [{"name": "main", "image": HOST_IMAGE, "securityContext": {"runAsUser": 0}}]}}
    with pytest.raises(ApiError) as err:
        cluster.store.create(root, DEVELOPER)
    first = namespaces.parse_range(project["metadata"]["annotations"][namespaces.UID_RANGE])
    assert err.value.code == 403
    assert err.value.message == (
        'pods "root" is forbidden: unable to validate against any security context constraint: [provider '
        '"anyuid": Forbidden: not usable by user or serviceaccount, provider restricted-v2: .containers[0].runAsUser: '
        f'Invalid value: 0: must be in the ranges: [{first[0]}, {first[1]}], provider "privileged": Forbidden: not '
        "usable by user or serviceaccount]")
    assert cluster.store.get("v1", "pods", "pacs", "root") is None


def fetch_tls(port, host, path):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    context = ssl.create_default_context(cafile=None)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE    # checked below against the lab CA
    tls = context.wrap_socket(sock, server_hostname=host)
    conn = http.client.HTTPConnection(host, timeout=5)
    conn.sock = tls
    conn.request("GET", path, headers={"Host": host})
    answer = conn.getresponse()
    return answer.status, answer.read().decode().strip()


def test_deployment_pod_runs_with_a_uid_from_the_range_and_answers_through_an_edge_route(cluster, project):
    labels = {"app": "web"}
    cluster.store.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web",
                                                                                    "namespace": "pacs"},
                          "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                              "metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": HOST_IMAGE, "command": ["sh", "-c", WEB],
                                                       "ports": [{"name": "http", "containerPort": 8080}]}]}}}},
                         ADMIN)
    cluster.store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "pacs"},
                          "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
                         ADMIN)
    route = cluster.store.create({"apiVersion": "route.openshift.io/v1", "kind": "Route",
                                  "metadata": {"name": "web", "namespace": "pacs"},
                                  "spec": {"to": {"kind": "Service", "name": "web"}, "port": {"targetPort": "http"},
                                           "tls": {"termination": "edge",
                                                   "insecureEdgeTerminationPolicy": "Redirect"}}}, ADMIN)
    extension = cluster.extensions[0]
    host = route["spec"]["host"]
    assert host == f"web-pacs.{extension.apps_domain}"
    pod = wait_until("the Deployment's pod", lambda: cluster.store.list("v1", "pods", "pacs", "app=web"))[0]
    first = namespaces.parse_range(project["metadata"]["annotations"][namespaces.UID_RANGE])[0]
    assert pod["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"
    assert pod["spec"]["containers"][0]["securityContext"]["runAsUser"] == first
    router = extension.report()["router"]

    def served():
        try:
            return fetch_tls(router["https"], host, "/uid")
        except OSError:
            return None
    status, body = wait_until("the route answering 200", lambda: (served() or (0, ""))[0] == 200 and served(),
                              timeout=90)
    assert (status, body) == (200, str(first))                     # `id -u` inside the container
    assert fetch_tls(router["https"], host, "/groups")[1].split()[0] == "0"   # primary group 0, as on OpenShift
    admitted = cluster.store.get("route.openshift.io/v1", "routes", "pacs", "web")["status"]["ingress"][0]
    assert admitted["conditions"][0]["status"] == "True"
    # the certificate is the router's default one for *.<apps domain>, signed by the lab CA
    context = ssl.create_default_context(cafile=cluster.ca_file)
    with context.wrap_socket(socket.create_connection(("127.0.0.1", router["https"]), timeout=5),
                             server_hostname=host) as tls:
        assert dict(x[0] for x in tls.getpeercert()["subject"])["commonName"] == f"*.{extension.apps_domain}"


def test_kubectl_finds_the_openshift_resources_through_discovery(cluster, project):
    kubeconfig = cluster.write_kubeconfigs()["admin"]

    def kubectl(*args, stdin=None):
        done = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], input=stdin, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    resources = kubectl("api-resources", "--api-group=route.openshift.io", "-o", "name")
    assert resources.split() == ["routes.route.openshift.io"]
    assert kubectl("get", "scc", "restricted-v2", "-o", "jsonpath={.requiredDropCapabilities}") == '["ALL"]'
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "viewer", "namespace": "pacs"},
             "spec": {"to": {"kind": "Service", "name": "web"}, "tls": {"termination": "edge"}}}
    kubectl("apply", "-f", "-", stdin=json.dumps(route))
    assert kubectl("-n", "pacs", "get", "route", "viewer", "-o", "jsonpath={.spec.host}") == \
        f"viewer-pacs.{cluster.extensions[0].apps_domain}"
    wait_until("the route admitted", lambda: kubectl("-n", "pacs", "get", "route", "viewer", "-o",
                                                     "jsonpath={.status.ingress[0].conditions[0].status}") == "True")
    assert "pacs" in kubectl("get", "projects", "-o", "name")
