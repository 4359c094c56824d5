"""The chart's viewer option on the OpenShift-flavoured lab cluster that runs its pods (lab/kube): helm installs
Orthanc and the viewer image with values-openshift.yaml; the viewer pod is admitted under restricted-v2 with a read-only
root, gets Ready through its httpGet probe, reads Orthanc through the release's Service name, and its reencrypt
Route on the router's HAProxy (which verifies the pod's certificate) serves OHIF with Orthanc's login, the study
from Orthanc, and bulk-data URLs on the Route's host."""
import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import time

import pytest
import yaml

from lab.ca import LabCA
from lab.containers import images
from lab.dicom_factory import make_study
from lab.kube.cluster import client_env, running_cluster
from lab.viewer.deploy import REPO, ensure_browser_and_ohif

CLUSTER, NAMESPACE, RELEASE = "viewer-chart-it", "pacs", "lab"
CHART = os.path.join(REPO, "files", "helm", "orthanc")
VIEWER = f"{RELEASE}-orthanc-viewer"
LOGIN = "Basic " + base64.b64encode(b"radiology:viewer-chart-pass-1").decode()

pytestmark = pytest.mark.timeout(600)


def image_values(name):
    repository, _, tag = images.IMAGES[name].tag.rpartition(":")
    return {"repository": repository, "tag": tag, "pullPolicy": "Never"}


def run(env, *argv, stdin=None):
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{' '.join(argv[:4])}: {done.stdout}{done.stderr}"
    return done.stdout


def through_router(port, host, ca_file, path, authorization=LOGIN):
    """HTTPS to the router on 127.0.0.1 with the Route's host as SNI and Host (no wildcard DNS here)."""
    context = ssl.create_default_context(cafile=ca_file)
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=30)
    connection.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                          server_hostname=host)
    try:
        connection.request("GET", path, headers={"Host": host, **({"Authorization": authorization}
                                                                   if authorization else {})})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The release with the viewer on, a study in its Orthanc, and where its Route answers."""
    ensure_browser_and_ohif()
    for name in ("orthanc", "ohif-viewer"):
        images.ensure(name)
    work = tmp_path_factory.mktemp("viewer-chart")
    with running_cluster(CLUSTER, "openshift", pods=True) as cluster:
        env = client_env(str(work), cluster.write_kubeconfigs()["admin"])
        # The pod's certificate as OpenShift's service CA would issue it: the cluster's CA, the Service's name.
        cert, key = LabCA(cluster.ca_dir).issue_server_cert("viewer", sans=(f"{VIEWER}.{NAMESPACE}.svc",))
        run(env, "kubectl", "create", "namespace", NAMESPACE)
        run(env, "kubectl", "-n", NAMESPACE, "create", "secret", "generic", "orthanc-users",
            "--from-literal=users=" + json.dumps({"radiology": "viewer-chart-pass-1"}))
        run(env, "kubectl", "-n", NAMESPACE, "create", "secret", "tls", "viewer-tls", "--cert", cert, "--key", key)
        small = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
        values = work / "lab.yaml"
        values.write_text(yaml.safe_dump({
            "image": image_values("orthanc"), "database": {"mode": "sqlite"}, "route": {"host": ""},
            "storage": {"persistence": {"size": "1Gi"}}, "resources": small, "terminationGracePeriodSeconds": 5,
            "orthanc": {"stableAge": 2},
            # The lab does not emulate the service CA: the Secret it would write is made above.
            "viewer": {"enabled": True, "image": image_values("ohif-viewer"),
                       "tls": {"secretName": "viewer-tls", "openshiftServiceCA": False},
                       "route": {"enabled": True}, "resources": small}}))
        started = time.monotonic()
        run(env, "helm", "install", RELEASE, CHART, "-n", NAMESPACE, "-f", os.path.join(CHART, "values-openshift.yaml"),
            "-f", str(values), "--wait", "--timeout", "240s")
        print(f"helm install --wait (Orthanc and the viewer): {time.monotonic() - started:.1f} s")
        route = cluster.store.get("route.openshift.io/v1", "routes", NAMESPACE, VIEWER)
        router = cluster.extensions[0].report()["router"]
        study = make_study(instances=2, patient_id="VCHART001", patient_name="VCHART^PATIENT", rows=64, columns=64)
        orthanc_port = json.loads(cluster.store.get("v1", "services", NAMESPACE, f"{RELEASE}-orthanc")["metadata"][
            "annotations"]["lab.medimaging.io/host-ports"])["8042"]
        for data in study:
            connection = http.client.HTTPConnection("127.0.0.1", orthanc_port, timeout=30)
            connection.request("POST", "/instances", body=data, headers={"Authorization": LOGIN})
            assert connection.getresponse().status == 200
            connection.close()
        yield {"cluster": cluster, "host": route["spec"]["host"], "router": router["https"],
               "ca": cluster.ca_file}


def wait_for_route(installed, path):
    deadline = time.monotonic() + 60
    while True:  # the router reloads HAProxy once the Route's endpoints are Ready
        try:
            status, body = through_router(installed["router"], installed["host"], installed["ca"], path)
        except OSError:
            status, body = 0, b""
        if status == 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(1)


def test_viewer_pod_runs_restricted_read_only_and_ready(installed):
    (pod,) = [p for p in installed["cluster"].store.list("v1", "pods", NAMESPACE)
              if p["metadata"]["labels"].get("app.kubernetes.io/component") == "viewer"]
    assert pod["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"
    assert pod["status"]["containerStatuses"][0]["ready"] and pod["status"]["containerStatuses"][0]["restartCount"] == 0
    context = pod["spec"]["containers"][0]["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["runAsUser"] >= 1000000000


def test_reencrypt_route_serves_ohif_with_orthanc_s_login(installed):
    status, body = wait_for_route(installed, "/")
    assert status == 200 and b"<html" in body.lower()
    anonymous, _ = through_router(installed["router"], installed["host"], installed["ca"], "/", authorization=None)
    assert anonymous == 401


def test_the_study_and_its_bulk_data_urls_come_through_the_route(installed):
    status, body = wait_for_route(installed, "/dicom-web/studies?PatientID=VCHART001")
    assert status == 200, body[:300]
    (study,) = json.loads(body)
    uid = study["0020000D"]["Value"][0]
    status, body = through_router(installed["router"], installed["host"], installed["ca"],
                                  f"/dicom-web/studies/{uid}/metadata")
    assert status == 200, body[:300]
    uris = [element["BulkDataURI"] for instance in json.loads(body) for element in instance.values()
            if isinstance(element, dict) and "BulkDataURI" in element]
    assert uris and all(uri.startswith(f"https://{installed['host']}/dicom-web/") for uri in uris), uris[:2]
