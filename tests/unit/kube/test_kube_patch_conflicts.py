"""PATCH and server-side apply without a resourceVersion survive a concurrent write (kube-apiserver retries them,
as its GuaranteedUpdate does); a patch that names a resourceVersion still gets the 409 its client asked for."""
import json

import pytest

from kube_fakes import ADMIN, new_store
from lab.kube.api.errors import ConflictError
from lab.kube.api.operations import Operations, parse_path

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
      "data": {"a": "1"}}


def _racing_store():
    """A store whose next update is preceded by another writer's update of the same object, once."""
    store = new_store()
    store.create(CM, ADMIN)
    real_update, raced = store.update, []

    def update(obj, user, **kwargs):
        if not raced:
            raced.append(True)
            other = store.get("v1", "configmaps", "default", "c")
            other["metadata"].setdefault("labels", {})["other"] = "writer"
            real_update(other, ADMIN)
        return real_update(obj, user, **kwargs)
    store.update = update
    return store, raced


def _patch(store, body, content_type, query=None):
    target = parse_path(store.registry, ["api", "v1", "namespaces", "default", "configmaps", "c"])
    return Operations(store, None).handle("PATCH", target, query or {}, json.dumps(body).encode(), content_type,
                                          ADMIN)


@pytest.mark.parametrize("content_type", ["application/merge-patch+json",
                                          "application/strategic-merge-patch+json"])
def test_an_unpinned_patch_is_retried_over_a_concurrent_write(content_type):
    store, raced = _racing_store()
    status, result = _patch(store, {"data": {"b": "2"}}, content_type)
    assert raced and status == 200
    assert result["data"] == {"a": "1", "b": "2"} and result["metadata"]["labels"] == {"other": "writer"}


def test_an_unpinned_json_patch_is_retried():
    store, raced = _racing_store()
    status, result = _patch(store, [{"op": "add", "path": "/data/b", "value": "2"}], "application/json-patch+json")
    assert raced and status == 200 and result["metadata"]["labels"] == {"other": "writer"}


def test_a_pinned_patch_gets_the_conflict():
    store, raced = _racing_store()
    version = store.get("v1", "configmaps", "default", "c")["metadata"]["resourceVersion"]
    with pytest.raises(ConflictError):
        _patch(store, {"metadata": {"resourceVersion": version}, "data": {"b": "2"}},
               "application/merge-patch+json")
    assert raced and "b" not in store.get("v1", "configmaps", "default", "c")["data"]


def test_server_side_apply_is_retried_over_a_concurrent_write():
    store, raced = _racing_store()
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
               "data": {"a": "1", "b": "2"}}
    status, result = _patch(store, applied, "application/apply-patch+yaml", {"fieldManager": ["tests"]})
    assert raced and status == 200
    assert result["data"] == {"a": "1", "b": "2"} and result["metadata"]["labels"] == {"other": "writer"}
