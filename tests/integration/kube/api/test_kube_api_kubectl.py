"""kubectl 1.37 against the lab API over HTTPS: apply (create, then unchanged), selectors, 409 on a stale replace,
403 for the read-only identity, 401 without a token, server-side dry run, auth can-i, rollout history/undo, delete,
namespace deletion, the issuer documents."""
import json
import ssl
import time
import urllib.error
import urllib.request

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: imaging}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: pacs, namespace: imaging, labels: {tier: pacs}}
spec:
  replicas: 2
  selector: {matchLabels: {app: pacs}}
  template:
    metadata: {labels: {app: pacs}}
    spec:
      containers:
      - name: orthanc
        image: localhost/medimaging/orthanc:trixie
        ports: [{containerPort: 8042, name: http}]
        env: [{name: LEVEL, value: "1"}]
---
apiVersion: v1
kind: Service
metadata: {name: pacs, namespace: imaging}
spec:
  selector: {app: pacs}
  ports: [{name: http, port: 8042, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: imaging, labels: {tier: pacs}}
data: {verbose: "false"}
"""


def _json(done):
    return json.loads(done.stdout)


def test_apply_creates_then_is_unchanged(clients):
    first = clients.kubectl("apply", "-f", "-", stdin=MANIFEST).stdout
    assert "deployment.apps/pacs created" in first and "namespace/imaging created" in first
    second = clients.kubectl("apply", "-f", "-", stdin=MANIFEST).stdout
    assert second.count("unchanged") == 4, second
    service = _json(clients.kubectl("get", "svc", "pacs", "-n", "imaging", "-o", "json"))
    assert service["spec"]["clusterIP"] and service["spec"]["ports"][0]["protocol"] == "TCP"


def test_get_with_label_and_field_selectors(clients):
    listed = _json(clients.kubectl("get", "deploy,cm", "-n", "imaging", "-l", "tier=pacs", "-o", "json"))
    assert sorted(i["kind"] for i in listed["items"]) == ["ConfigMap", "Deployment"]
    pods = _json(clients.kubectl("get", "pods", "-n", "imaging", "-l", "app=pacs", "--field-selector",
                                 "spec.nodeName=lab-node", "-o", "json"))
    deadline = time.monotonic() + 60
    while len(pods["items"]) != 2 and time.monotonic() < deadline:   # the controllers and scheduler are async
        time.sleep(0.2)
        pods = _json(clients.kubectl("get", "pods", "-n", "imaging", "-l", "app=pacs", "--field-selector",
                                     "spec.nodeName=lab-node", "-o", "json"))
    assert len(pods["items"]) == 2 and pods["kind"] == "List"
    none = _json(clients.kubectl("get", "pods", "-n", "imaging", "--field-selector", "status.phase=Running",
                                 "-o", "json"))
    assert none["items"] == []                              # no kubelet here: scheduled pods stay Pending
    deadline = time.monotonic() + 60
    while _json(clients.kubectl("get", "deploy", "pacs", "-n", "imaging", "-o", "json")).get(
            "status", {}).get("updatedReplicas") != 2:
        assert time.monotonic() < deadline, "the deployment status never counted its 2 pods"
        time.sleep(0.2)
    printed = clients.kubectl("get", "deploy,pods", "-n", "imaging").stdout.split("\n")   # Tables from the API
    assert printed[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert printed[1].split()[:4] == ["deployment.apps/pacs", "0/2", "2", "0"]
    assert printed[3].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert printed[4].split()[1:3] == ["0/1", "Pending"]
    assert "deployment.apps/pacs" in clients.kubectl("get", "all", "-n", "imaging").stdout


def test_stale_replace_gets_409(clients):
    old = clients.kubectl("get", "cm", "settings", "-n", "imaging", "-o", "json").stdout
    clients.kubectl("patch", "cm", "settings", "-n", "imaging", "-p", '{"data":{"verbose":"true"}}')
    done = clients.kubectl("replace", "-f", "-", stdin=old, check=False)
    assert done.returncode != 0 and "Conflict" in done.stderr and "the object has been modified" in done.stderr
    assert _json(clients.kubectl("get", "cm", "settings", "-n", "imaging", "-o", "json"))["data"] == \
        {"verbose": "true"}


def test_read_only_identity(clients):
    done = clients.kubectl("create", "configmap", "nope", "-n", "imaging", "--from-literal=a=b", readonly=True,
                           check=False)
    assert done.returncode != 0
    assert 'configmaps is forbidden: User "lab-readonly" cannot create resource "configmaps" in API group "" in ' \
           'the namespace "imaging"' in done.stderr
    assert clients.kubectl("get", "cm", "settings", "-n", "imaging", readonly=True).returncode == 0
    assert clients.kubectl("auth", "can-i", "create", "pods", readonly=True, check=False).stdout.startswith("no")
    assert clients.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"


def test_no_or_unknown_token_is_401_and_the_issuer_is_public(cluster):
    context = ssl.create_default_context(cafile=cluster.ca_file)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        request = urllib.request.Request(f"{cluster.api_url}/api/v1/namespaces", headers=headers)
        try:
            urllib.request.urlopen(request, context=context, timeout=5)  # noqa: S310 - the lab API
            raise AssertionError("answered without a valid token")
        except urllib.error.HTTPError as err:
            assert err.code == 401 and json.load(err)["reason"] == "Unauthorized"
    with urllib.request.urlopen(f"{cluster.api_url}/.well-known/openid-configuration", context=context) as answer:
        discovery = json.load(answer)
    assert discovery["issuer"] == cluster.api_url
    with urllib.request.urlopen(discovery["jwks_uri"], context=context) as answer:
        assert json.load(answer)["keys"][0]["kid"] == cluster.tokens.kid


def test_server_dry_run_stores_nothing(clients, cluster):
    before = cluster.store.resource_version
    done = clients.kubectl("create", "configmap", "dry", "-n", "imaging", "--from-literal=a=b", "--dry-run=server",
                           "-o", "json")
    assert _json(done)["metadata"]["name"] == "dry"
    patched = clients.kubectl("scale", "deploy", "pacs", "-n", "imaging", "--replicas=5", "--dry-run=server")
    assert patched.returncode == 0
    assert clients.kubectl("get", "cm", "dry", "-n", "imaging", check=False).returncode != 0
    assert _json(clients.kubectl("get", "deploy", "pacs", "-n", "imaging", "-o", "json"))["spec"]["replicas"] == 2
    assert cluster.store.get("v1", "configmaps", "imaging", "dry") is None
    assert int(cluster.store.resource_version) >= int(before)


def test_rollout_history_and_undo(clients):
    clients.kubectl("set", "env", "deploy/pacs", "-n", "imaging", "LEVEL=2")
    deadline = time.monotonic() + 60
    while "2" not in clients.kubectl("rollout", "history", "deploy/pacs", "-n", "imaging").stdout.split():
        assert time.monotonic() < deadline, "no revision 2"
        time.sleep(0.2)
    clients.kubectl("rollout", "undo", "deploy/pacs", "-n", "imaging")
    deployment = _json(clients.kubectl("get", "deploy", "pacs", "-n", "imaging", "-o", "json"))
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "LEVEL", "value": "1"}]
    while deployment["metadata"]["annotations"].get("deployment.kubernetes.io/revision") != "3":
        assert time.monotonic() < deadline + 60, "the undo did not become revision 3"
        time.sleep(0.2)
        deployment = _json(clients.kubectl("get", "deploy", "pacs", "-n", "imaging", "-o", "json"))


def test_delete_and_namespace_deletion(clients, cluster):
    clients.kubectl("delete", "cm", "settings", "-n", "imaging")
    assert clients.kubectl("get", "cm", "settings", "-n", "imaging", check=False).returncode != 0
    clients.kubectl("delete", "namespace", "imaging", "--timeout=120s")
    assert clients.kubectl("get", "namespace", "imaging", check=False).returncode != 0
    assert cluster.store.namespaced_objects("imaging") == []
