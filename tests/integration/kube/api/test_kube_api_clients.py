"""The kubernetes Python client (typed and dynamic) and kubernetes.core from a playbook against the lab API:
watch, strategic-merge patch by merge key, server-side apply, finalizers, foreground deletion, CRDs, TokenRequest;
k8s check mode stores nothing, the second run changes nothing, k8s_info with selectors."""
import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time

import jwt
import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


@pytest.fixture(scope="module")
def api(clients):
    return config.new_client_from_config(clients.kubeconfigs["admin"])


def _deployment(name):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}}, "spec": {"containers": [
                    {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "side", "image": "s:1"}]}}}}


def test_watch_sees_writes_in_order(api):
    core = client.CoreV1Api(api)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    seen = []

    def follow():
        for event in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start,
                                          timeout_seconds=30):
            # Only w1's events: the root-CA publisher may add kube-root-ca.crt to the namespace meanwhile (a
            # loaded machine starts it late; the fresh-clone CI run saw its ADDED between w1's events).
            if event["object"].metadata.name == "w1":
                seen.append((event["type"], "w1"))
            if len(seen) == 3:
                return
    follower = threading.Thread(target=follow)
    follower.start()
    core.create_namespaced_config_map("default", {"metadata": {"name": "w1"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("w1", "default", {"data": {"a": "2"}})
    core.delete_namespaced_config_map("w1", "default")
    follower.join(40)
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_strategic_merge_patch_and_server_side_apply(api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", _deployment("smp"))
    apps.patch_namespaced_deployment("smp", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "B", "value": "2"}]}]}}}})
    containers = apps.read_namespaced_deployment("smp", "default").spec.template.spec.containers
    assert [c.name for c in containers] == ["app", "side"]
    assert [(e.name, e.value) for e in containers[0].env] == [("A", "1"), ("B", "2")]

    resources = dynamic.DynamicClient(api).resources.get(api_version="apps/v1", kind="Deployment")
    applied = _deployment("ssa")
    created = resources.server_side_apply(body=applied, namespace="default", field_manager="tests", force=True)
    assert created.metadata.generation == 1
    applied["spec"]["template"]["spec"]["containers"] = applied["spec"]["template"]["spec"]["containers"][:1]
    updated = resources.server_side_apply(body=applied, namespace="default", field_manager="tests", force=True)
    assert [c.name for c in updated.spec.template.spec.containers] == ["app"]   # no longer applied: removed
    assert updated.metadata.generation == 2


def test_finalizers_and_foreground_deletion(api, cluster):
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespaced_config_map("default", {"metadata": {"name": "held", "finalizers": ["lab/hold"]}})
    core.delete_namespaced_config_map("held", "default")
    held = core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("held", "default")
    assert err.value.status == 404 and json.loads(err.value.body)["kind"] == "Status"

    apps.create_namespaced_deployment("default", _deployment("gc"))
    for _ in range(600):
        if core.list_namespaced_pod("default", label_selector="app=gc").items:
            break
        threading.Event().wait(0.1)
    apps.delete_namespaced_deployment("gc", "default", propagation_policy="Foreground")
    for _ in range(600):
        if not core.list_namespaced_pod("default", label_selector="app=gc").items and \
                not apps.list_namespaced_replica_set("default", label_selector="app=gc").items:
            break
        threading.Event().wait(0.1)
    else:
        raise AssertionError("the deployment's replica set and pods were not collected")


def test_custom_resource_definition_is_served(api):
    dyn = dynamic.DynamicClient(api)
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body={"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                      "metadata": {"name": "studies.imaging.example.org"},
                      "spec": {"group": "imaging.example.org", "scope": "Namespaced",
                               "names": {"plural": "studies", "singular": "study", "kind": "Study"},
                               "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                                   "openAPIV3Schema": {"type": "object"}}}]}})
    dyn = dynamic.DynamicClient(api)          # fresh discovery
    studies = dyn.resources.get(api_version="imaging.example.org/v1", kind="Study")
    studies.create(body={"apiVersion": "imaging.example.org/v1", "kind": "Study",
                         "metadata": {"name": "ct-1"}, "spec": {"modality": "CT"}}, namespace="default")
    assert studies.get(name="ct-1", namespace="default").spec.modality == "CT"


def test_token_request_is_signed_by_the_cluster(api, cluster):
    core = client.CoreV1Api(api)
    answer = core.create_namespaced_service_account_token(
        name="default", namespace="default", body=client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=["api://AzureADTokenExchange"], expiration_seconds=3600)))
    claims = jwt.decode(answer.status.token, cluster.tokens.key.public_key(), algorithms=["RS256"],
                        audience="api://AzureADTokenExchange", issuer=cluster.api_url)
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["kubernetes.io"]["serviceaccount"]["uid"] == \
        core.read_namespaced_service_account("default", "default").metadata.uid
    assert jwt.get_unverified_header(answer.status.token)["kid"] == cluster.tokens.kid


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A ConfigMap and a Deployment (one module call)
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        definition:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: pb-cfg, namespace: default, labels: {suite: pb}},
             data: {level: "1"}}
          - {apiVersion: apps/v1, kind: Deployment, metadata: {name: pb-web, namespace: default, labels: {suite: pb}},
             spec: {replicas: 1, selector: {matchLabels: {app: pb}}, template: {metadata: {labels: {app: pb}},
             spec: {containers: [{name: web, image: "localhost/medimaging/orthanc:trixie",
                                  ports: [{containerPort: 8042}]}]}}}}
    - name: Read them back by label
      kubernetes.core.k8s_info:
        kubeconfig: "{{ kubeconfig }}"
        kind: ConfigMap
        namespace: default
        label_selectors: [suite=pb]
      register: found
      when: read_back | default(false) | bool
    - ansible.builtin.debug:
        msg: "FOUND={{ found.resources | map(attribute='metadata.name') | list | to_json }}"
      when: read_back | default(false) | bool
"""


def _playbook(clients, tmp_path, *extra):
    path = tmp_path / "k8s.yml"
    path.write_text(PLAYBOOK)
    env = dict(clients.env, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path),
                           "-e", f"kubeconfig={clients.kubeconfigs['admin']}", *extra], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    result = json.loads(done.stdout[done.stdout.index("{"):])
    return result["stats"]["localhost"], result


def test_kubernetes_core_check_mode_then_idempotent(clients, cluster, tmp_path):
    stats, _ = _playbook(clients, tmp_path, "--check")          # a server-side dryRun=All: nothing stored
    assert stats["changed"] == 1
    assert cluster.store.get("v1", "configmaps", "default", "pb-cfg") is None
    assert cluster.store.get("apps/v1", "deployments", "default", "pb-web") is None
    stats, _ = _playbook(clients, tmp_path)
    assert stats["changed"] == 1 and cluster.store.get("apps/v1", "deployments", "default", "pb-web")
    stats, result = _playbook(clients, tmp_path, "-e", "read_back=true")
    assert stats["changed"] == 0, json.dumps(result)[-2000:]
    assert 'FOUND=[\\"pb-cfg\\"]' in json.dumps(result) or 'FOUND=["pb-cfg"]' in json.dumps(result)


def test_a_watch_ends_when_its_client_hangs_up(cluster):
    token = cluster._credentials()["admin"]  # pylint: disable=protected-access
    baseline = len(cluster.store._watchers)  # pylint: disable=protected-access
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.server.port,
                                             context=ssl.create_default_context(cafile=cluster.ca_file))
    connection.request("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0",
                       headers={"Authorization": f"Bearer {token}"})
    answer = connection.getresponse()
    assert answer.status == 200 and answer.getheader("Transfer-Encoding") == "chunked"
    assert json.loads(answer.readline())["object"]["metadata"]["name"] == "kube-root-ca.crt"   # synthetic ADDED
    assert len(cluster.store._watchers) == baseline + 1  # pylint: disable=protected-access
    connection.close()
    deadline = time.monotonic() + 30
    while len(cluster.store._watchers) > baseline:  # pylint: disable=protected-access
        assert time.monotonic() < deadline, "the server kept watching for a client that had gone"
        time.sleep(0.1)
