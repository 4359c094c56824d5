"""files/helm/orthanc installs on the lab cluster with `helm install --wait` (its pods Ready through the exec probes,
under the chart's security context, read-only root file system, users from a Secret file) and Orthanc answers
through its Services: HTTP with the Secret's credentials (and 401 without), DICOM C-ECHO on the DICOM Service.
The lab has no PostgreSQL image yet: the index is Orthanc's SQLite on the chart's claim (database.mode sqlite)."""
import base64
import json
import os
import time
import urllib.error
import urllib.request

import yaml
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # pylint: disable=no-name-in-module

from lab.containers import images
from lab.containers.runtime import podman

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "files", "helm", "orthanc")
NAMESPACE, RELEASE = "pacs", "lab"
USERS = {"radiology": "lab-chart-password-1"}


def values(tmp_path):
    repository, _, tag = images.IMAGES["orthanc"].tag.rpartition(":")
    path = tmp_path / "lab-values.yaml"
    path.write_text(yaml.safe_dump({
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "orthanc": {"name": "lab-chart", "dicomAet": "LABPACS"},
        "auth": {"existingSecret": "orthanc-users"},
        "database": {"mode": "sqlite"},
        "storage": {"persistence": {"size": "1Gi"}},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "terminationGracePeriodSeconds": 5,
    }))
    return str(path)


def host_port(chart_lab, service, port):
    """The 127.0.0.1 port the lab's service network gives a Service port (its host-ports annotation)."""
    found = chart_lab.cluster.store.get("v1", "services", NAMESPACE, service)
    return json.loads(found["metadata"]["annotations"]["lab.medimaging.io/host-ports"])[str(port)]


def get(port, path, credentials=None):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % credentials).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def test_chart_installs_and_orthanc_answers_through_its_services(chart_lab, tmp_path):
    code, output = chart_lab.run("kubectl", "create", "namespace", NAMESPACE)
    assert code == 0, output
    code, output = chart_lab.run("kubectl", "-n", NAMESPACE, "create", "secret", "generic", "orthanc-users",
                                 "--from-literal=users=" + json.dumps(USERS))
    assert code == 0, output
    started = time.monotonic()
    code, output = chart_lab.run("helm", "install", RELEASE, CHART, "-n", NAMESPACE, "-f", values(tmp_path),
                                 "--wait", "--timeout", "240s")
    assert code == 0, output
    print("helm install --wait: %.1f s" % (time.monotonic() - started))

    (pod,) = [p for p in chart_lab.cluster.store.list("v1", "pods", NAMESPACE)
              if p["metadata"]["labels"].get("app.kubernetes.io/component") == "pacs"]
    assert pod["status"]["phase"] == "Running" and pod["status"]["containerStatuses"][0]["ready"]

    http = host_port(chart_lab, RELEASE + "-orthanc", 8042)
    assert get(http, "/system")[0] == 401  # authentication on: no anonymous access
    status, system = get(http, "/system", ("radiology", USERS["radiology"]))
    assert status == 200 and system["Name"] == "lab-chart" and system["DicomAet"] == "LABPACS"
    status, plugin = get(http, "/medimaging/status", ("radiology", USERS["radiology"]))
    assert status == 200, plugin

    dicom = host_port(chart_lab, RELEASE + "-orthanc-dicom", 4242)
    ae = AE(ae_title="LABTEST")
    ae.add_requested_context(Verification)
    association = ae.associate("127.0.0.1", dicom, ae_title="LABPACS")
    try:
        assert association.is_established
        assert association.send_c_echo().Status == 0x0000
    finally:
        association.release()


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
