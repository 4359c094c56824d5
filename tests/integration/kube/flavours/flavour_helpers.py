"""Helpers for the flavour tests on a real lab cluster (API + controllers + kubelet on podman)."""
import time

import pytest

from lab.containers.runtime import podman
from lab.kube.contracts import UserInfo

ADMIN = UserInfo("lab-admin", ("system:masters", "system:authenticated"))
DEVELOPER = UserInfo("developer", ("system:authenticated",))


def wait_until(what, check, timeout=60, interval=0.3):
    """check() until it returns something truthy; fails saying what never happened, with the last value."""
    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what} did not happen within {timeout} s (last: {value!r})")


def pod_logs(cluster, namespace, name):
    """The stdout of a pod's containers, read from podman by the kubelet's labels."""
    names = podman("ps", "-a", "--filter", f"label=io.kubernetes.pod.namespace={namespace}", "--filter",
                   f"label=io.kubernetes.pod.name={name}", "--filter", "label=io.kubernetes.container.name",
                   "--format", "{{.Names}}", check=False).stdout.decode().split()
    return "".join(podman("logs", ctr, check=False).stdout.decode(errors="replace") for ctr in names)
