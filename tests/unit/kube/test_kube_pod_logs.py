"""pods/NAME/log (kubectl logs) answered from PodRuntime.logs when the runtime offers it; clear errors otherwise."""
import pytest

from kube_fakes import ADMIN, FakeRuntime, LoggingRuntime, new_store
from lab.kube.api.errors import ApiError
from lab.kube.api.operations import Operations, parse_path

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
       "spec": {"containers": [{"name": "main", "image": "x"}, {"name": "side", "image": "y"}]}}


def _get_log(operations, store, query):
    target = parse_path(store.registry, ["api", "v1", "namespaces", "default", "pods", "p", "log"])
    return operations.handle("GET", target, query, b"", "", ADMIN)


def test_logs_from_the_runtime():
    store, runtime = new_store(), LoggingRuntime()
    store.create(POD, ADMIN)
    operations = Operations(store, None)
    operations.runtime = runtime
    runtime.sync(store.get("v1", "pods", "default", "p"), None)
    status, text = _get_log(operations, store, {"container": ["side"], "tailLines": ["2"]})
    assert status == 200 and text == b"side line 2\nside line 3\n"
    with pytest.raises(ApiError) as err:                       # two containers: kubectl must name one
        _get_log(operations, store, {})
    assert err.value.code == 400 and "a container name must be specified" in err.value.message
    with pytest.raises(ApiError) as err:
        _get_log(operations, store, {"container": ["nope"]})
    assert "container nope is not valid" in err.value.message


def test_no_logs_without_a_runtime_that_keeps_them():
    store = new_store()
    store.create(POD, ADMIN)
    operations = Operations(store, None)
    operations.runtime = FakeRuntime()
    with pytest.raises(ApiError) as err:
        _get_log(operations, store, {"container": ["main"]})
    assert err.value.code == 404 and "pod logs are not available" in err.value.message
