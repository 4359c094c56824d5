"""helm 4 against the lab API: install, upgrade, rollback and uninstall of a small chart, its release history in
Secrets that helm sends as protobuf (decoded by the API), and the objects following each revision."""
import json
import os

import pytest

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\nkubeVersion: '>=1.23.0-0'\n",
    "values.yaml": "replicas: 1\nmessage: hello\nextraEnv: true\n",
    "templates/all.yaml": """apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}-cfg}
data: {message: {{ .Values.message | quote }}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-web}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: web
        image: localhost/medimaging/orthanc:trixie
        env:
        - {name: MESSAGE, value: {{ .Values.message | quote }}}
        {{- if .Values.extraEnv }}
        - {name: EXTRA, value: "yes"}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata: {name: {{ .Release.Name }}-svc}
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80, targetPort: 8042}]
""",
}


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    root = tmp_path_factory.mktemp("chart") / "tiny"
    for name, text in CHART.items():
        os.makedirs(root / os.path.dirname(name), exist_ok=True)
        (root / name).write_text(text)
    return str(root)


def _get(clients, *args):
    return json.loads(clients.kubectl("get", *args, "-n", "apps", "-o", "json").stdout)


def _env(clients):
    return _get(clients, "deploy", "r1-web")["spec"]["template"]["spec"]["containers"][0]["env"]


def test_install_upgrade_rollback_uninstall(clients, cluster, chart):
    clients.helm("install", "r1", chart, "-n", "apps", "--create-namespace")
    assert _get(clients, "cm", "r1-cfg")["data"] == {"message": "hello"}
    releases = _get(clients, "secrets", "-l", "owner=helm,name=r1")["items"]
    assert [s["metadata"]["labels"]["status"] for s in releases] == ["deployed"]
    assert releases[0]["type"] == "helm.sh/release.v1"
    assert cluster.server.app.body_types["application/vnd.kubernetes.protobuf"] > 0   # the release went as protobuf

    clients.helm("upgrade", "r1", chart, "-n", "apps", "--set", "message=bye", "--set", "extraEnv=false")
    assert _get(clients, "cm", "r1-cfg")["data"] == {"message": "bye"}
    assert _env(clients) == [{"name": "MESSAGE", "value": "bye"}]     # an env entry the chart dropped is gone
    history = json.loads(clients.helm("history", "r1", "-n", "apps", "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]

    clients.helm("rollback", "r1", "1", "-n", "apps")
    assert _get(clients, "cm", "r1-cfg")["data"] == {"message": "hello"}
    assert _env(clients) == [{"name": "MESSAGE", "value": "hello"}, {"name": "EXTRA", "value": "yes"}]
    statuses = {s["metadata"]["name"]: s["metadata"]["labels"]["status"]
                for s in _get(clients, "secrets", "-l", "owner=helm")["items"]}
    assert statuses == {"sh.helm.release.v1.r1.v1": "superseded", "sh.helm.release.v1.r1.v2": "superseded",
                        "sh.helm.release.v1.r1.v3": "deployed"}

    clients.helm("uninstall", "r1", "-n", "apps", "--wait")
    left = _get(clients, "cm,deploy,svc,secrets")["items"]
    assert [i["metadata"]["name"] for i in left] == ["kube-root-ca.crt"]      # only what the namespace brings
    assert clients.helm("status", "r1", "-n", "apps", check=False).returncode != 0
