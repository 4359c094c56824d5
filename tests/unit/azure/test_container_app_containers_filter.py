"""The container_app_containers filter is the inverse of the azure_container_app module's container body: the options
it gives back make the same REST body again (so update_orthanc's new image and rollback change nothing else)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.medimaging.orthanc.plugins.filter.container_app import container_app_containers
from ansible_collections.medimaging.orthanc.plugins.module_utils import container_app_body as cab

OPTIONS = [{
    "name": "orthanc", "image": "registry.example.org/medimaging/orthanc:1.0", "cpu": 0.5, "memory": "1Gi",
    "args": ["--verbose"],
    "env": [{"name": "ORTHANC__NAME", "value": "PACS"}, {"name": "ORTHANC__REGISTERED_USERS", "secret_ref": "users"}],
    "probes": [{"type": "Readiness", "tcp_socket": {"port": 8042}, "period_seconds": 5, "failure_threshold": 3},
               {"type": "Liveness", "http_get": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                "initial_delay_seconds": 2}],
}]


def arm(options):
    """The containers as Azure returns them: the module's body without the fields the task left unset."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        return [clean(v) for v in value] if isinstance(value, list) else value
    return [dict(clean(cab._container(c)), resources={"cpu": c["cpu"], "memory": c["memory"],
                                                      "ephemeralStorage": "2Gi"}) for c in options]


def test_the_options_make_the_same_body_again():
    returned = arm(OPTIONS)
    assert arm(container_app_containers(returned)) == returned
    assert container_app_containers(returned) == OPTIONS


def test_a_new_image_changes_only_the_named_container():
    two = arm(OPTIONS + [dict(OPTIONS[0], name="sidecar", image="busybox:1", env=[], probes=[])])
    changed = container_app_containers(two, image="registry.example.org/medimaging/orthanc:1.1", name="orthanc")
    assert [c["image"] for c in changed] == ["registry.example.org/medimaging/orthanc:1.1", "busybox:1"]
    assert changed[0] == dict(OPTIONS[0], image="registry.example.org/medimaging/orthanc:1.1")


@pytest.mark.parametrize("containers, kwargs, says", [
    ([], {}, "non-empty list"),
    (arm(OPTIONS) * 2, {"image": "x"}, "name the one"),
    ([{"name": "orthanc", "image": "x"}], {}, "resources"),
])
def test_bad_input_is_refused_clearly(containers, kwargs, says):
    with pytest.raises(AnsibleFilterError, match=says):
        container_app_containers(containers, **kwargs)
