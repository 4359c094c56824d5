"""files/helm/orthanc with values-openshift.yaml installs on the OpenShift-flavoured lab cluster with `helm install
--wait`: its pod is admitted under restricted-v2 (a UID from the namespace's range, group 0, nothing pinned by the
chart) and gets Ready through the exec probes, with a read-only root file system and users from a Secret file.
Orthanc answers through its Service (401 without credentials, 200 with), through its edge Route on the router's
HAProxy (HTTPS by SNI; plain HTTP redirected) and C-ECHO through the DICOM Service. The lab has no PostgreSQL image
yet: the index is Orthanc's SQLite on the chart's claim (database.mode sqlite)."""
import base64
import http.client
import json
import os
import socket
import ssl
import time
import urllib.error
import urllib.request

import yaml

from lab.containers import images
from lab.containers.runtime import podman
from lab.dicom_echo import c_echo
from lab.kube.flavours import namespaces

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "files", "helm", "orthanc")
NAMESPACE, RELEASE = "pacs", "lab"
USERS = {"radiology": "lab-chart-password-1"}
CREDENTIALS = "Basic " + base64.b64encode(("radiology:" + USERS["radiology"]).encode()).decode()


def lab_values(tmp_path):
    """What the lab changes over values-openshift.yaml: its image, no PostgreSQL, the Route's default host."""
    repository, _, tag = images.IMAGES["orthanc"].tag.rpartition(":")
    path = tmp_path / "lab-values.yaml"
    path.write_text(yaml.safe_dump({
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "orthanc": {"name": "lab-chart", "dicomAet": "LABPACS"},
        "database": {"mode": "sqlite"},
        "storage": {"persistence": {"size": "1Gi"}},
        "route": {"host": ""},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "terminationGracePeriodSeconds": 5,
    }))
    return str(path)


def host_port(chart_lab, service, port):
    """The 127.0.0.1 port the lab's service network gives a Service port (its host-ports annotation)."""
    found = chart_lab.cluster.store.get("v1", "services", NAMESPACE, service)
    return json.loads(found["metadata"]["annotations"]["lab.medimaging.io/host-ports"])[str(port)]


def get(port, path, authorization=None):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


class _SniConnection(http.client.HTTPSConnection):
    """HTTPS to the router on 127.0.0.1 with the route's host as SNI and Host (no wildcard DNS here)."""

    def connect(self):
        self.sock = self._context.wrap_socket(socket.create_connection(("127.0.0.1", self.port), timeout=10),
                                              server_hostname=self.host)


def through_route(port, host, ca_file, tls=True):
    connection = (_SniConnection(host, port, context=ssl.create_default_context(cafile=ca_file)) if tls
                  else http.client.HTTPConnection("127.0.0.1", port, timeout=10))
    try:
        connection.request("GET", "/system", headers={"Host": host, "Authorization": CREDENTIALS})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_chart_installs_under_restricted_v2_and_orthanc_answers(chart_lab, tmp_path):
    for command in (("kubectl", "create", "namespace", NAMESPACE),
                    ("kubectl", "-n", NAMESPACE, "create", "secret", "generic", "orthanc-users",
                     "--from-literal=users=" + json.dumps(USERS))):
        code, output = chart_lab.run(*command)
        assert code == 0, output
    started = time.monotonic()
    code, output = chart_lab.run("helm", "install", RELEASE, CHART, "-n", NAMESPACE,
                                 "-f", os.path.join(CHART, "values-openshift.yaml"), "-f", lab_values(tmp_path),
                                 "--wait", "--timeout", "240s")
    assert code == 0, output
    print("helm install --wait: %.1f s" % (time.monotonic() - started))

    (pod,) = [p for p in chart_lab.cluster.store.list("v1", "pods", NAMESPACE)
              if p["metadata"]["labels"].get("app.kubernetes.io/component") == "pacs"]
    assert pod["status"]["phase"] == "Running" and pod["status"]["containerStatuses"][0]["ready"]
    assert pod["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"
    namespace = chart_lab.cluster.store.get("v1", "namespaces", "", NAMESPACE)
    first, last = namespaces.parse_range(namespace["metadata"]["annotations"][namespaces.UID_RANGE])
    assert first <= pod["spec"]["containers"][0]["securityContext"]["runAsUser"] <= last

    http_port = host_port(chart_lab, RELEASE + "-orthanc", 8042)
    assert get(http_port, "/system")[0] == 401  # authentication on: no anonymous access
    status, system = get(http_port, "/system", CREDENTIALS)
    assert status == 200 and system["Name"] == "lab-chart" and system["DicomAet"] == "LABPACS"
    assert get(http_port, "/medimaging/status", CREDENTIALS)[0] == 200

    route = chart_lab.cluster.store.get("route.openshift.io/v1", "routes", NAMESPACE, RELEASE + "-orthanc")
    router = chart_lab.cluster.extensions[0].report()["router"]
    deadline = time.monotonic() + 60
    while True:  # the router reloads HAProxy once the route's endpoints are Ready
        try:
            status, body = through_route(router["https"], route["spec"]["host"], chart_lab.cluster.ca_file)
        except OSError:
            status, body = 0, b""
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status == 200 and json.loads(body)["Name"] == "lab-chart"
    assert through_route(router["http"], route["spec"]["host"], None, tls=False)[0] == 302  # Redirect to HTTPS

    assert c_echo("127.0.0.1", host_port(chart_lab, RELEASE + "-orthanc-dicom", 4242), "LABTEST", "LABPACS") == 0


def test_uninstall_leaves_no_container_and_keeps_the_images_claim(chart_lab):
    code, output = chart_lab.run("helm", "uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "90s")
    assert code == 0, output
    deadline = time.monotonic() + 60
    while True:
        left = podman("ps", "-a", "--filter", "label=io.kubernetes.pod.namespace=" + NAMESPACE, "--format",
                      "{{.Names}}").stdout.decode().split()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert left == []
    # helm.sh/resource-policy: keep - patient images outlive the release.
    assert chart_lab.cluster.store.get("v1", "persistentvolumeclaims", NAMESPACE, RELEASE + "-orthanc")
