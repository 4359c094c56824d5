"""One lab kubelet (PodmanRuntime + PodmanServiceNetwork on its own podman network) for the kubelet tests, and a
resolver holding ConfigMaps, Secrets, claims and Service names the way the API's store would answer them."""
import base64
import os
import shutil
import tempfile
import time

import pytest

from lab.containers import images
from lab.containers.runtime import remove_labelled
from lab.kube.kubelet import ClusterNetwork, PodmanRuntime, PodmanServiceNetwork, cluster_owner

CLUSTER = "kubelet-it"


class DictResolver:
    """A PodResolver over plain dicts; tokens are recorded so a test can see what the kubelet asked for."""

    def __init__(self, root):
        self.root = root
        self.config_maps, self.secrets, self.names, self.token_requests = {}, {}, {}, []

    def config_map(self, namespace, name):
        return self.config_maps.get((namespace, name))

    def secret(self, namespace, name):
        return self.secrets.get((namespace, name))

    def volume_dir(self, namespace, claim):
        return os.path.join(self.root, "claims", namespace, claim)

    def token(self, namespace, service_account, audience, expiration_seconds, pod):
        self.token_requests.append((namespace, service_account, audience, expiration_seconds, pod["metadata"]["name"]))
        return f"jwt-for-{service_account}-aud-{audience}-exp-{expiration_seconds}"

    def hosts(self, namespace):
        return dict(self.names.get(namespace, {}))

    def add_secret(self, namespace, name, values):
        data = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
        self.secrets[(namespace, name)] = {"data": data}


class Kubelet:
    def __init__(self, runtime, services, resolver, network):
        self.runtime, self.services, self.resolver, self.network = runtime, services, resolver, network

    def status(self, name, namespace="default"):
        return self.runtime.statuses().get((namespace, name))

    def wait_for(self, name, check, timeout=90, namespace="default"):
        """Poll the pod's status until check(status) is true; fails with the last status."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(name, namespace)
            if status and check(status):
                return status
            if time.monotonic() > deadline:
                pytest.fail(f"pod {namespace}/{name} never matched within {timeout} s; last status: {status}")
            time.sleep(0.5)


@pytest.fixture(scope="module")      # gone with its module: no pods or scheduler left running for later tests
def kubelet():
    images.ensure("orthanc")
    remove_labelled(cluster_owner(CLUSTER))            # a crashed earlier run's pods and network
    root = tempfile.mkdtemp(prefix="medimaging-kubelet-")
    network = ClusterNetwork(CLUSTER).ensure()
    runtime = PodmanRuntime(CLUSTER, root, network=network, backoff_base=2.0, tick=0.5)
    services = PodmanServiceNetwork(CLUSTER, root, network=network)
    try:
        yield Kubelet(runtime, services, DictResolver(root), network)
    finally:
        services.shutdown()
        runtime.shutdown()
        remove_labelled(cluster_owner(CLUSTER))
        shutil.rmtree(root, ignore_errors=True)
