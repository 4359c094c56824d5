"""The kubelet's pure translations, without podman: command/args against ENTRYPOINT/CMD, $(VAR) expansion, env
sources and their errors, runAsNonRoot, securityContext flags, quantities, QoS classes, volume files."""
import base64
import os
import stat

import pytest

from lab.kube.kubelet.env import ConfigError, container_env, expand
from lab.kube.kubelet.quantity import parse_cpu, parse_memory
from lab.kube.kubelet.spec import command_args, non_root_refusal, resource_args, security_args
from lab.kube.kubelet.status import qos_class
from lab.kube.kubelet.volumes import PodVolumes, VolumeError


class Store:
    """Only what the translations ask a resolver for."""

    def __init__(self, config_maps=None, secrets=None):
        self.config_maps, self.secrets = config_maps or {}, secrets or {}

    def config_map(self, namespace, name):
        return self.config_maps.get(name)

    def secret(self, namespace, name):
        return self.secrets.get(name)


def a_pod(containers=None, **spec):
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"b": "2", "a": "1"}},
            "spec": {"containers": containers or [{"name": "c", "image": "i"}], **spec}}


def test_command_replaces_entrypoint_and_cmd_args_alone_replace_cmd():
    env = [("WHO", "world")]
    assert command_args({"command": ["/bin/echo"], "args": ["hi $(WHO)"]}, env) == (
        ["--entrypoint", '["/bin/echo"]'], ["hi world"])
    assert command_args({"args": ["--verbose"]}, env) == ([], ["--verbose"])
    assert command_args({}, env) == ([], [])


def test_expansion_keeps_unknown_names_and_unescapes_double_dollars():
    assert expand("$(A)-$(MISSING)-$$(A)", {"A": "x"}) == "x-$(MISSING)-$(A)"


def test_env_sources_in_kubernetes_order_and_missing_keys_refused():
    store = Store({"cm": {"data": {"mode": "batch", "LEVEL": "1"}}},
                  {"s": {"data": {"password": base64.b64encode(b"pw").decode()}}})
    container = {"name": "c", "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CFG_"}],
                 "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                         {"name": "CFG_mode", "value": "override $(PW)"},
                         {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                         {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['a']"}}},
                         {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k",
                                                                           "optional": True}}},
                         {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                            "divisor": "1Mi"}}}],
                 "resources": {"limits": {"memory": "64Mi"}}}
    assert container_env(container, a_pod(), store, "10.0.0.5", "10.0.0.1") == [
        ("CFG_mode", "override pw"), ("CFG_LEVEL", "1"), ("PW", "pw"), ("IP", "10.0.0.5"), ("APP", "1"), ("MEM", "64")]
    with pytest.raises(ConfigError, match="couldn't find key nope in Secret ns/s"):
        container_env({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "nope"}}}]},
                      a_pod(), store, "", "")
    with pytest.raises(ConfigError, match='configmap "absent" not found'):
        container_env({"envFrom": [{"configMapRef": {"name": "absent"}}]}, a_pod(), store, "", "")


def test_run_as_non_root_uses_run_as_user_then_the_image_user():
    strict = a_pod(securityContext={"runAsNonRoot": True})
    container = strict["spec"]["containers"][0]
    assert "image will run as root" in non_root_refusal(strict, container, "")
    assert "image will run as root" in non_root_refusal(strict, container, "0:0")
    assert "non-numeric user (orthanc)" in non_root_refusal(strict, container, "orthanc")
    assert non_root_refusal(strict, container, "1000:0") is None
    assert non_root_refusal(strict, dict(container, securityContext={"runAsUser": 5}), "root") is None
    assert non_root_refusal(a_pod(), a_pod()["spec"]["containers"][0], "root") is None


def test_security_context_flags_container_over_pod():
    pod = a_pod(securityContext={"runAsUser": 1000, "runAsGroup": 0, "fsGroup": 2000, "supplementalGroups": [3000]})
    container = {"name": "c", "securityContext": {
        "runAsUser": 1001, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "seccompProfile": {"type": "RuntimeDefault"}}}
    assert security_args(pod, container) == [
        "--user", "1001:0", "--group-add", "2000", "--group-add", "3000", "--read-only", "--read-only-tmpfs=false",
        "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges"]
    with pytest.raises(ValueError, match="Localhost"):
        security_args(a_pod(), {"securityContext": {"seccompProfile": {"type": "Localhost"}}})


def test_quantities_and_qos_classes():
    assert parse_memory("512Mi") == 512 * 2**20 and parse_memory("1G") == 10**9 and parse_memory("1.5Gi") == 3 * 2**29
    assert parse_cpu("250m") == 0.25 and parse_cpu("2") == 2
    assert resource_args({"resources": {"limits": {"memory": "64Mi", "cpu": "500m"}}}) == [
        "--memory", str(64 * 2**20), "--memory-swap", str(64 * 2**20), "--cpus", "0.500"]
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_memory("lots")
    assert qos_class(a_pod()) == "BestEffort"
    assert qos_class(a_pod([{"name": "c", "resources": {"limits": {"memory": "1Gi", "cpu": "1"}}}])) == "Guaranteed"
    assert qos_class(a_pod([{"name": "c", "resources": {"requests": {"memory": "1Gi"}}}])) == "Burstable"


def test_volume_files_modes_items_and_fs_group(tmp_path):
    store = Store({"cm": {"data": {"a.conf": "A", "b.conf": "B"}}},
                  {"s": {"data": {"key": base64.b64encode(b"secret").decode()}}})
    pod = a_pod(securityContext={"fsGroup": 4321}, volumes=[
        {"name": "conf", "configMap": {"name": "cm", "items": [{"key": "b.conf", "path": "sub/b", "mode": 0o600}]}},
        {"name": "sec", "secret": {"secretName": "s", "defaultMode": 0o400}},
        {"name": "meta", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"name": "scratch", "emptyDir": {"medium": "Memory"}}])
    paths = PodVolumes(pod, store, str(tmp_path)).build()
    assert os.listdir(paths["conf"]) == ["sub"] and open(os.path.join(paths["conf"], "sub", "b")).read() == "B"
    secret = os.stat(os.path.join(paths["sec"], "key"))
    assert stat.S_IMODE(secret.st_mode) == 0o440 and secret.st_gid == 4321     # fsGroup adds group read
    assert open(os.path.join(paths["meta"], "labels")).read() == 'a="1"\nb="2"'
    assert stat.S_IMODE(os.stat(paths["scratch"]).st_mode) & 0o777 == 0o777
    missing = a_pod(volumes=[{"name": "x", "secret": {"secretName": "absent"}}])
    with pytest.raises(VolumeError, match='secret "absent" not found'):
        PodVolumes(missing, store, str(tmp_path)).build()
