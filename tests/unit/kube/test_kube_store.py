"""The store's Kubernetes semantics: server-set metadata, resourceVersion conflicts, dry run, status subresource,
generation, finalizers, namespaces, selectors and watch resumption."""
import threading

import pytest

from kube_fakes import ADMIN, new_store
from lab.kube.api.errors import ApiError
from lab.kube.contracts import Conflict


def _cm(name, labels=None, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default",
                                                                  "labels": labels or {}}, "data": data}


def _deployment(name="web", image="a:1"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": image}]}}}}


def test_create_sets_metadata_and_refuses_duplicates_and_stale_updates():
    store = new_store()
    created = store.create(_cm("a", x="1"), ADMIN)
    meta = created["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"].endswith("Z")
    with pytest.raises(ApiError) as err:
        store.create(_cm("a"), ADMIN)
    assert err.value.code == 409 and err.value.reason == "AlreadyExists"
    updated = store.update(dict(created, data={"x": "2"}), ADMIN)
    assert int(updated["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    with pytest.raises(Conflict) as stale:
        store.update(dict(created, data={"x": "3"}), ADMIN)         # the first resourceVersion is stale now
    assert "the object has been modified" in str(stale.value)
    assert store.get("v1", "configmaps", "default", "a")["data"] == {"x": "2"}


def test_dry_run_stores_nothing():
    store = new_store()
    before = store.resource_version
    answer = store.create(_cm("dry"), ADMIN, dry_run=True)
    assert answer["metadata"]["name"] == "dry"
    assert store.get("v1", "configmaps", "default", "dry") is None and store.resource_version == before


def test_defaults_generation_and_status_subresource():
    store = new_store()
    deployment = store.create(_deployment(), ADMIN)
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent" and spec["template"]["spec"]["restartPolicy"] == "Always"
    assert deployment["metadata"]["generation"] == 1
    deployment["status"] = {"replicas": 5}                          # ignored on the main resource
    deployment["metadata"]["labels"] = {"x": "y"}
    deployment = store.update(deployment, ADMIN)
    assert deployment["metadata"]["generation"] == 1 and "status" not in deployment
    deployment["spec"]["replicas"] = 3
    deployment = store.update(deployment, ADMIN)
    assert deployment["metadata"]["generation"] == 2
    deployment["status"], deployment["spec"]["replicas"] = {"replicas": 3}, 9
    deployment = store.update(deployment, ADMIN, subresource="status")
    assert deployment["status"] == {"replicas": 3} and deployment["spec"]["replicas"] == 3


def test_invalid_objects_are_refused_with_422():
    store = new_store()
    broken = _deployment()
    broken["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiError) as err:
        store.create(broken, ADMIN)
    assert err.value.code == 422 and "selector` does not match template `labels`" in err.value.message
    with pytest.raises(ApiError) as err:
        store.create(dict(_cm("x"), metadata={"namespace": "nowhere", "name": "x"}), ADMIN)
    assert err.value.code == 404 and 'namespaces "nowhere" not found' in err.value.message


def test_secret_string_data_is_folded_into_data():
    store = new_store()
    secret = store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
                           "stringData": {"password": "hunter2"}, "data": {"user": "YWRtaW4="}}, ADMIN)
    assert secret["data"] == {"user": "YWRtaW4=", "password": "aHVudGVyMg=="} and "stringData" not in secret
    assert secret["type"] == "Opaque"


def test_finalizers_hold_deletion_until_removed():
    store = new_store()
    store.create(dict(_cm("held"), metadata={"name": "held", "namespace": "default", "finalizers": ["x/y"]}), ADMIN)
    marked = store.delete("v1", "configmaps", "default", "held", ADMIN)
    assert marked["metadata"]["deletionTimestamp"]
    assert store.get("v1", "configmaps", "default", "held") is not None
    marked["metadata"]["finalizers"] = []
    store.update(marked, ADMIN)
    assert store.get("v1", "configmaps", "default", "held") is None


def test_selectors():
    store = new_store()
    store.create(_cm("a", {"tier": "web", "env": "prod"}), ADMIN)
    store.create(_cm("b", {"tier": "db", "env": "prod"}), ADMIN)
    store.create(_cm("c", {"tier": "web"}), ADMIN)

    def names(labels="", fields=""):
        return [i["metadata"]["name"] for i in store.list("v1", "configmaps", "default", labels, fields)]
    assert names("tier=web") == ["a", "c"]
    assert names("tier in (web, db),env") == ["a", "b"]
    assert names("!env") == ["c"]
    assert names("env!=prod") == ["c"]
    assert names(fields="metadata.name=b") == ["b"]
    assert names("tier=web", "metadata.name!=a") == ["c"]
    with pytest.raises(ApiError):
        names("tier in web")


def test_watch_resumes_from_a_resource_version():
    store = new_store()
    first = store.create(_cm("one"), ADMIN)
    store.create(_cm("two"), ADMIN)
    store.delete("v1", "configmaps", "default", "one", ADMIN)
    stop = threading.Event()
    events = []
    for event in store.watch("v1", "configmaps", "default", first["metadata"]["resourceVersion"], timeout=1,
                             stop=stop):
        events.append((event.type, event.object["metadata"]["name"]))
        if len(events) == 2:
            stop.set()
    assert events == [("ADDED", "two"), ("DELETED", "one")]


def test_crd_registers_its_resource():
    store = new_store()
    store.create({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                  "metadata": {"name": "studies.imaging.example.org"},
                  "spec": {"group": "imaging.example.org", "scope": "Namespaced",
                           "names": {"plural": "studies", "singular": "study", "kind": "Study"},
                           "versions": [{"name": "v1", "served": True, "storage": True}]}}, ADMIN)
    store.create({"apiVersion": "imaging.example.org/v1", "kind": "Study",
                  "metadata": {"name": "s1", "namespace": "default"}, "spec": {"modality": "CT"}}, ADMIN)
    assert store.get("imaging.example.org/v1", "studies", "default", "s1")["spec"] == {"modality": "CT"}
    crd = store.get("apiextensions.k8s.io/v1", "customresourcedefinitions", "", "studies.imaging.example.org")
    assert {c["type"] for c in crd["status"]["conditions"]} == {"NamesAccepted", "Established"}
    store.delete("apiextensions.k8s.io/v1", "customresourcedefinitions", "", "studies.imaging.example.org", ADMIN)
    with pytest.raises(ApiError):
        store.get("imaging.example.org/v1", "studies", "default", "s1")
