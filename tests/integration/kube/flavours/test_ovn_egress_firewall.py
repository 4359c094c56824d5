"""OVN's EgressFirewall on the OpenShift-flavoured lab cluster, enforced on real pods.

Two TCP listeners on the cluster network's gateway (this machine: where the lab's cloud stands in) play an allowed
and a denied cloud endpoint. A pod reaches both until its namespace gets an EgressFirewall (Allow the first
endpoint's port, Deny 0.0.0.0/0); then only the allowed one, while another namespace's pod is still reached (inside
the cluster, not subject to it) and a pod started afterwards is held from its first packet. Removing the firewall
opens the way again; a firewall OVN would refuse is refused."""

import pytest

from lab.containers import images
from lab.containers.runtime import podman
from lab.kube.api.errors import ApiError
from lab.kube.cluster import running_cluster
from lab.kube.flavours.egress_firewall import API_VERSION
from lab.kube.tcp_endpoint import TcpEndpoint

from flavour_helpers import ADMIN, wait_until

CLUSTER = "it-ovn-egress"
IMAGE = "localhost/medimaging/host:trixie"        # python3 for the probes and a web server
SLEEP = "trap 'exit 0' TERM 37; sleep infinity & wait"
WEB = "cd /tmp && python3 -m http.server 8080 & trap 'kill $!; exit 0' TERM 37; wait"


@pytest.fixture(scope="module")
def cluster():
    images.ensure("host-trixie")
    with running_cluster(CLUSTER, "openshift", pods=True) as the_cluster:
        yield the_cluster


@pytest.fixture(scope="module")
def endpoints(cluster):
    allowed, denied = TcpEndpoint(cluster.gateway), TcpEndpoint(cluster.gateway)
    yield allowed.port, denied.port
    allowed.close()
    denied.close()


def run_pod(cluster, namespace, name, script):
    if cluster.store.get("v1", "namespaces", "", namespace) is None:
        cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, ADMIN)
    cluster.store.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
                          "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                              "name": "main", "image": IMAGE, "imagePullPolicy": "Never",
                              "command": ["/bin/sh", "-c", script]}]}}, ADMIN)
    pod = wait_until(f"pod {namespace}/{name} running", lambda: (lambda p: p if p and p.get("status", {}).get(
        "phase") == "Running" else None)(cluster.store.get("v1", "pods", namespace, name)), timeout=120)
    return pod


def connects(namespace, pod, address, port):
    """Whether the pod's container opens a TCP connection to address:port (3 s: a dropped SYN times out)."""
    probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout=3).close()"
    done = podman("exec", f"kube-{CLUSTER}_{namespace}_{pod}_main", "python3", "-c", probe, check=False)
    return done.returncode == 0


def firewall(cluster, rules, name="default"):
    return {"apiVersion": API_VERSION, "kind": "EgressFirewall", "metadata": {"name": name, "namespace": "fw"},
            "spec": {"egress": rules}}


def test_the_firewall_allows_the_listed_endpoint_and_drops_the_rest(cluster, endpoints):
    allowed, denied = endpoints
    gateway = cluster.gateway
    run_pod(cluster, "fw", "client", SLEEP)
    web = run_pod(cluster, "other", "web", WEB)
    assert connects("fw", "client", gateway, allowed) and connects("fw", "client", gateway, denied)   # open before

    cluster.store.create(firewall(cluster, [
        {"type": "Allow", "to": {"cidrSelector": f"{gateway}/32"}, "ports": [{"protocol": "TCP", "port": allowed}]},
        {"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}]), ADMIN)
    wait_until("the denied endpoint dropped", lambda: not connects("fw", "client", gateway, denied), timeout=120)
    assert connects("fw", "client", gateway, allowed)
    wait_until("another namespace's pod reached (inside the cluster)",
               lambda: connects("fw", "client", web["status"]["podIP"], 8080), timeout=120)

    # A pod started under the firewall has it before its first packet (the kubelet's sandbox hook).
    late = "trap 'exit 0' TERM 37; python3 -c \"import socket; socket.create_connection(('%s', %d), timeout=3)\" " \
           "&& echo REACHED > /tmp/first || echo HELD > /tmp/first; sleep infinity & wait" % (gateway, denied)
    run_pod(cluster, "fw", "late", late)
    first = wait_until("the late pod's first attempt", lambda: podman(
        "exec", f"kube-{CLUSTER}_fw_late_main", "cat", "/tmp/first", check=False).stdout.decode().strip(), timeout=120)
    assert first == "HELD"

    cluster.store.delete(API_VERSION, "egressfirewalls", "fw", "default", ADMIN)
    wait_until("the denied endpoint reachable again", lambda: connects("fw", "client", gateway, denied), timeout=120)


def test_a_firewall_ovn_refuses_is_refused(cluster):
    if cluster.store.get("v1", "namespaces", "", "fw") is None:
        cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fw"}}, ADMIN)
    with pytest.raises(ApiError) as refused:
        cluster.store.create(firewall(cluster, [{"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}],
                                      name="mine"), ADMIN)
    assert refused.value.code == 422 and 'named "default"' in str(refused.value)
    with pytest.raises(ApiError) as refused:
        cluster.store.create(firewall(cluster, [{"type": "Reject", "to": {"cidrSelector": "10.0.0.0/8",
                                                                          "dnsName": "x.example"}}]), ADMIN)
    assert "spec.egress[0].type" in str(refused.value) and "exactly one of" in str(refused.value)
