"""Patches as the API applies them: strategic merge by merge key and directives, JSON patch, merge patch, and
server-side apply's removal of fields a manager stopped applying."""
import pytest

from lab.kube.api import patch
from lab.kube.api.errors import ApiError

POD_SPEC = {"containers": [
    {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
     "ports": [{"containerPort": 80}], "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
    {"name": "side", "image": "s:1"}], "volumes": [{"name": "data", "emptyDir": {}}]}


def test_strategic_merge_merges_lists_by_key():
    merged = patch.strategic_merge({"spec": POD_SPEC}, {"spec": {"containers": [
        {"name": "app", "image": "a:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
         "ports": [{"containerPort": 443}]}]}}, "Pod")["spec"]
    app = merged["containers"][0]
    assert [c["name"] for c in merged["containers"]] == ["app", "side"]
    assert app["image"] == "a:2"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert app["ports"] == [{"containerPort": 80}, {"containerPort": 443}]
    assert app["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]


def test_strategic_merge_directives():
    merged = patch.strategic_merge({"spec": POD_SPEC}, {"spec": {
        "containers": [{"name": "side", "$patch": "delete"}],
        "volumes": [{"name": "data", "$patch": "delete"}],
        "$setElementOrder/containers": [{"name": "app"}]}}, "Pod")["spec"]
    assert [c["name"] for c in merged["containers"]] == ["app"]
    assert merged["volumes"] == []
    replaced = patch.strategic_merge({"spec": POD_SPEC}, {"spec": {"containers": [
        {"name": "only", "image": "o"}, {"$patch": "replace"}]}}, "Pod")["spec"]
    assert replaced["containers"] == [{"name": "only", "image": "o"}]
    removed = patch.strategic_merge({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1"}}},
                                    {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"],
                                                  "labels": {"x": None}}})
    assert removed["metadata"] == {"finalizers": ["b"], "labels": {}}


def test_service_ports_merge_on_port_not_container_port():
    merged = patch.strategic_merge({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}},
                                   {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, "Service")
    assert merged["spec"]["ports"] == [{"port": 80, "targetPort": 9090}]


def test_merge_patch_replaces_lists_and_deletes_nulls():
    merged = patch.merge_patch({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": None}, "l": [3]})
    assert merged == {"a": {"c": 2}, "l": [3]}


def test_json_patch_and_its_errors():
    assert patch.json_patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}]) == {"a": [1, 2]}
    with pytest.raises(ApiError) as err:
        patch.json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert err.value.code == 422


def test_apply_removes_what_the_manager_no_longer_applies():
    live = {"metadata": {"labels": {"a": "1", "b": "2", "other": "x"}},
            "spec": {"containers": [{"name": "app", "env": [{"name": "OLD"}, {"name": "KEEP"}]},
                                    {"name": "gone"}]}}
    previous = {"metadata": {"labels": {"a": "1", "b": "2"}},
                "spec": {"containers": [{"name": "app", "env": [{"name": "OLD"}, {"name": "KEEP"}]},
                                        {"name": "gone"}]}}
    applied = {"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "app", "env": [{"name": "KEEP"}]}]}}
    result = patch.remove_unapplied(live, previous, applied, "Deployment")
    assert result["metadata"]["labels"] == {"a": "1", "other": "x"}
    assert result["spec"]["containers"] == [{"name": "app", "env": [{"name": "KEEP"}]}]
