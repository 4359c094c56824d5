"""The lab kubelet runs real pods on podman: the project's Orthanc image configured from a Secret, Ready through an
httpGet probe, reached through its Service from another pod and from this machine; liveness restarts, a missing
image, a memory limit, runAsNonRoot, init containers and Job-style exits, each seen as the API would report it.

All pods start together (module fixture) so the module waits for the slowest once."""
import http.client
import ipaddress
import json
import os
import subprocess
import time
import urllib.request

import pytest

from lab.containers.runtime import podman
from lab.proc import free_port

ORTHANC = "localhost/medimaging/orthanc:trixie"
DEBIAN = "localhost/medimaging/debian:trixie"
UID = 1000740000
LATE_IMAGE = "localhost/medimaging/kubelet-it-late:1"


def pod(name, containers, **spec):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": name}},
            "spec": {"containers": containers, "terminationGracePeriodSeconds": 1, **spec}}


def orthanc_pod():
    hardened = {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    return pod("orthanc", [{
        "name": "orthanc", "image": ORTHANC, "ports": [{"name": "http", "containerPort": 8042}],
        "env": [{"name": "ORTHANC__NAME", "valueFrom": {"secretKeyRef": {"name": "orthanc", "key": "name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "resources": {"limits": {"memory": "256Mi"}, "requests": {"memory": "128Mi"}},
        "securityContext": hardened,
        "readinessProbe": {"httpGet": {"path": "/medimaging/health/ready", "port": "http"}, "periodSeconds": 1},
        "livenessProbe": {"tcpSocket": {"port": 8042}, "initialDelaySeconds": 20, "periodSeconds": 5,
                          "failureThreshold": 6},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/orthanc", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}, {"name": "db", "mountPath": "/var/lib/orthanc/db"},
                         {"name": "identity", "mountPath": "/var/run/secrets/azure/tokens"}]}],
        securityContext={"runAsUser": UID, "runAsGroup": 0, "fsGroup": UID, "runAsNonRoot": True},
        volumes=[{"name": "config", "secret": {"secretName": "orthanc", "defaultMode": 0o440,
                                               "items": [{"key": "orthanc.json", "path": "orthanc.json"}]}},
                 {"name": "tmp", "emptyDir": {}}, {"name": "db", "emptyDir": {}},
                 {"name": "identity", "projected": {"sources": [
                     {"serviceAccountToken": {"audience": "api://AzureADTokenExchange", "expirationSeconds": 3600,
                                              "path": "azure-identity-token"}},
                     {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}}],
        serviceAccountName="orthanc")


def sleeper(name, image=ORTHANC, pod_spec=None, **container):
    return pod(name, [{"name": "main", "image": image, "command": ["sleep", "3600"], **container}], **(pod_spec or {}))


PODS = {
    "orthanc": orthanc_pod,
    # Another pod, to reach Orthanc through its Service name as workloads do.
    "client": lambda: sleeper("client",
                              readinessProbe={"exec": {"command": ["test", "-d", "/tmp"]}, "periodSeconds": 1},
                              startupProbe={"exec": {"command": ["test", "-d", "/"]}, "periodSeconds": 1},
                              volumeMounts=[{"name": "data", "mountPath": "/data"}],
                              pod_spec={"hostname": "client-0", "subdomain": "clients",
                                        "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["legacy-pacs"]}],
                                        "securityContext": {"fsGroup": 4242},
                                        "volumes": [{"name": "data",
                                                     "persistentVolumeClaim": {"claimName": "client-data"}}]}),
    # An image that appears after the first ErrImagePull (tagged by the test): the next look finds it.
    "late-image": lambda: sleeper("late-image", image=LATE_IMAGE),
    # A ConfigMap that does not exist yet: the pod waits in ContainerCreating, then starts when it appears.
    "late-config": lambda: pod("late-config", [{"name": "main", "image": DEBIAN, "command": ["sleep", "60"],
                                                "volumeMounts": [{"name": "late", "mountPath": "/late"}]}],
                               volumes=[{"name": "late", "configMap": {"name": "late"}}]),
    "init-fails": lambda: pod("init-fails", [{"name": "main", "image": DEBIAN, "command": ["true"]}],
                              restartPolicy="Never",
                              initContainers=[{"name": "setup", "image": DEBIAN, "command": ["sh", "-c", "exit 1"]}]),
    # Nothing listens on port 9: every liveness probe fails, so the container is killed and restarted.
    "liveness": lambda: sleeper("liveness", livenessProbe={"tcpSocket": {"port": 9}, "periodSeconds": 1,
                                                           "failureThreshold": 1}),
    "missing-image": lambda: sleeper("missing-image", image="localhost/medimaging/not-built-anywhere:1",
                                     readinessProbe={"tcpSocket": {"port": 80}}),
    # tail keeps a line without newline in memory: 200 MiB of zeros under a 48 MiB limit is killed by the kernel.
    "oom": lambda: pod("oom", [{"name": "main", "image": DEBIAN,
                                "command": ["sh", "-c", "head -c 200m /dev/zero | tail"],
                                "resources": {"limits": {"memory": "48Mi", "cpu": "500m"}}}], restartPolicy="Never"),
    "rootless": lambda: pod("rootless", [{"name": "main", "image": DEBIAN, "command": ["sleep", "60"]}],
                            securityContext={"runAsNonRoot": True}),
    # Init containers run in order into an emptyDir; the main container checks their work, env expansion, a
    # ConfigMap volume and envFrom, and exits 0: a Job-style pod that Succeeds.
    "job": lambda: pod("job", [{
        "name": "check", "image": DEBIAN, "command": ["sh", "-c"],
        "args": ['test "$(cat /work/order)" = "one two" && test "$GREETING" = "hello $(POD)" && '
                 'test "$(cat /config/mode)" = batch && test "$CFG_mode" = batch && echo checked'],
        "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "GREETING", "value": "hello $(POD)"}],
        "envFrom": [{"configMapRef": {"name": "job"}, "prefix": "CFG_"}],
        "volumeMounts": [{"name": "work", "mountPath": "/work"}, {"name": "config", "mountPath": "/config"}]}],
        restartPolicy="Never",
        initContainers=[{"name": f"init-{word}", "image": DEBIAN,
                         "command": ["sh", "-c", f"echo -n '{sep}{word}' >> /work/order"],
                         "volumeMounts": [{"name": "work", "mountPath": "/work"}]}
                        for word, sep in (("one", ""), ("two", " "))],
        volumes=[{"name": "work", "emptyDir": {}}, {"name": "config", "configMap": {"name": "job"}}]),
    "failing-job": lambda: pod("failing-job", [{"name": "main", "image": DEBIAN, "command": ["sh", "-c", "exit 3"]}],
                               restartPolicy="OnFailure"),
}


@pytest.fixture(scope="module")
def pods(kubelet):
    resolver = kubelet.resolver
    resolver.add_secret("default", "orthanc", {
        "name": "kubelet-test", "orthanc.json": json.dumps({"AuthenticationEnabled": False})})
    resolver.config_maps[("default", "job")] = {"data": {"mode": "batch"}}
    for make in PODS.values():
        kubelet.runtime.sync(make(), resolver)
    return kubelet                                      # the session fixture's shutdown removes them


def exec_in(name, *command, container="main"):
    return podman("exec", f"kube-kubelet-it_default_{name}_{container}", *command, check=False)


def condition(status, kind):
    return next((c["status"] for c in status["conditions"] if c["type"] == kind), None)


def is_ready(status):
    return condition(status, "Ready") == "True"


def test_orthanc_becomes_ready_with_its_secret_config_and_api_shaped_status(pods):
    status = pods.wait_for("orthanc", is_ready)
    assert status["phase"] == "Running"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c["lastTransitionTime"].endswith("Z") for c in status["conditions"])
    assert ipaddress.ip_address(status["podIP"]) in pods.network.subnet
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["hostIP"] == pods.network.gateway and status["qosClass"] == "Burstable"
    (container,) = status["containerStatuses"]
    assert container["ready"] and container["started"] and container["restartCount"] == 0
    assert container["image"] == ORTHANC and container["imageID"] and container["containerID"].startswith("podman://")
    assert "running" in container["state"]
    # Orthanc read its name from the Secret-backed env variable; the Secret's JSON turned authentication off.
    system = json.loads(exec_in("orthanc", "python3", "-c", "import urllib.request as u;"
                                "print(u.urlopen('http://127.0.0.1:8042/system').read().decode())",
                                container="orthanc").stdout)
    assert system["Name"] == "kubelet-test"


def test_security_context_is_what_the_container_sees(pods):
    pods.wait_for("orthanc", lambda s: s["containerStatuses"][0]["state"].get("running"))
    ids = exec_in("orthanc", "id", container="orthanc").stdout.decode()
    assert ids.startswith(f"uid={UID}(") and "gid=0(" in ids and str(UID) in ids.split("groups=")[1]
    caps = exec_in("orthanc", "grep", "Cap", "/proc/self/status", container="orthanc").stdout.decode()
    assert "CapEff:\t0000000000000000" in caps and "CapBnd:\t0000000000000000" in caps
    flags = exec_in("orthanc", "grep", "-E", "NoNewPrivs|Seccomp:", "/proc/self/status", container="orthanc").stdout
    assert "NoNewPrivs:\t1" in flags.decode() and "Seccomp:\t2" in flags.decode()     # 2: a seccomp filter
    refused = exec_in("orthanc", "touch", "/etc/written", container="orthanc")
    assert refused.returncode != 0 and b"Read-only file system" in refused.stderr
    assert exec_in("orthanc", "touch", "/tmp/written", container="orthanc").returncode == 0   # the emptyDir
    # The Secret volume: defaultMode 0440, group-owned by fsGroup so the UID can read it; read-only.
    listing = exec_in("orthanc", "stat", "-c", "%a %g", "/etc/orthanc/orthanc.json", container="orthanc").stdout
    assert listing.decode().split() == ["440", str(UID)]
    limit = exec_in("orthanc", "sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || "
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes", container="orthanc").stdout.decode().strip()
    assert int(limit) == 256 * 2**20


def test_projected_token_and_downward_api_files_appear(pods):
    pods.wait_for("orthanc", lambda s: s["containerStatuses"][0]["state"].get("running"))
    token = exec_in("orthanc", "cat", "/var/run/secrets/azure/tokens/azure-identity-token", container="orthanc").stdout
    assert token.decode() == "jwt-for-orthanc-aud-api://AzureADTokenExchange-exp-3600"
    assert ("default", "orthanc", "api://AzureADTokenExchange", 3600, "orthanc") in pods.resolver.token_requests
    labels = exec_in("orthanc", "cat", "/var/run/secrets/azure/tokens/labels", container="orthanc").stdout.decode()
    assert labels == 'app="orthanc"'


def test_orthanc_answers_through_its_service_from_another_pod_and_from_this_machine(pods):
    status = pods.wait_for("orthanc", is_ready)
    service = {"metadata": {"name": "orthanc", "namespace": "default"},
               "spec": {"type": "ClusterIP", "selector": {"app": "orthanc"},
                        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    answer = pods.services.sync(service, [{"ip": status["podIP"], "ports": {"http": 8042}}])
    cluster_ip, host_port = answer["clusterIP"], answer["hostPorts"][80]
    assert cluster_ip in pods.network.service_addresses()
    with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/system", timeout=10) as reply:
        assert json.loads(reply.read())["Name"] == "kubelet-test"
    pods.resolver.names["default"] = {name: cluster_ip for name in (
        "orthanc", "orthanc.default", "orthanc.default.svc", "orthanc.default.svc.cluster.local")}
    pods.wait_for("client", lambda s: s["containerStatuses"][0]["ready"])
    fetch = ("import time, urllib.request as u\nfor _ in range(20):\n    try:\n"
             "        print(u.urlopen('http://orthanc.default.svc.cluster.local/system', timeout=5).read().decode())\n"
             "        break\n"
             "    except OSError: time.sleep(0.5)\n")
    entry = f"{cluster_ip}\torthanc orthanc.default orthanc.default.svc orthanc.default.svc.cluster.local"
    deadline = time.monotonic() + 10                       # the kubelet rewrites hosts files every 2 s
    hosts = ""
    while entry not in hosts and time.monotonic() < deadline:
        hosts = exec_in("client", "cat", "/etc/hosts").stdout.decode()
        time.sleep(0.2)
    assert entry in hosts
    assert "\tclient-0.clients.default.svc.cluster.local\tclient-0\n" in hosts and "10.1.2.3\tlegacy-pacs" in hosts
    reached = exec_in("client", "python3", "-c", fetch)
    assert json.loads(reached.stdout)["Name"] == "kubelet-test", reached.stderr
    # Another Service (NodePort) comes and goes while a keep-alive connection to this one stays usable.
    kept = http.client.HTTPConnection("127.0.0.1", host_port, timeout=10)
    kept.request("GET", "/system")
    assert kept.getresponse().read()
    first_socket = kept.sock
    node_port = free_port()
    other = {"metadata": {"name": "other", "namespace": "default"},
             "spec": {"type": "NodePort", "ports": [{"port": 8080, "targetPort": 8042, "nodePort": node_port}]}}
    assert pods.services.sync(other, [{"ip": status["podIP"], "ports": {"": 8042}}])["nodePorts"] == {8080: node_port}
    with urllib.request.urlopen(f"http://127.0.0.1:{node_port}/system", timeout=10) as reply:
        assert json.loads(reply.read())["Name"] == "kubelet-test"
    pods.services.delete("default", "other")
    kept.request("GET", "/system")
    assert json.loads(kept.getresponse().read())["Name"] == "kubelet-test"
    assert kept.sock is first_socket and first_socket is not None, "the same connection, not a reconnect"
    kept.close()
    # Same answer for a re-sync (stable address and port); no endpoints -> connections are refused.
    again = pods.services.sync(service, [])
    assert again == answer
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{host_port}/system", timeout=5).read()
    assert f"{cluster_ip}/32" in bridge_addresses(pods.network.interface)
    pods.services.delete("default", "orthanc")
    assert f"{cluster_ip}/32" not in bridge_addresses(pods.network.interface)


def bridge_addresses(interface):
    return subprocess.run(["ip", "-o", "addr", "show", "dev", interface], capture_output=True, text=True,
                          check=True).stdout


def test_liveness_failure_restarts_then_backs_off(pods):
    status = pods.wait_for("liveness", lambda s: s["containerStatuses"][0]["restartCount"] >= 2, timeout=60)
    (container,) = status["containerStatuses"]
    assert container["lastState"]["terminated"]["reason"] == "Error"
    assert container["lastState"]["terminated"]["exitCode"] in (137, 143)
    crash = pods.wait_for("liveness", lambda s: "waiting" in s["containerStatuses"][0]["state"], timeout=90)
    waiting = crash["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff" and "restarting failed container=main" in waiting["message"]
    assert crash["phase"] == "Running" and condition(crash, "Ready") == "False"


def test_missing_image_is_err_image_pull_and_never_ready(pods):
    status = pods.wait_for("missing-image", lambda s: s["containerStatuses"][0]["state"]["waiting"]["reason"]
                           == "ImagePullBackOff", timeout=90)
    assert status["phase"] == "Pending" and condition(status, "Ready") == "False"
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert "localhost/medimaging/not-built-anywhere:1" in waiting["message"]
    assert podman("container", "exists", "kube-kubelet-it_default_missing-image_main", check=False).returncode == 1


def test_memory_limit_kills_the_container_with_oomkilled(pods):
    status = pods.wait_for("oom", lambda s: s["phase"] in ("Failed", "Succeeded"), timeout=60)
    assert status["phase"] == "Failed"
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert terminated["reason"] == "OOMKilled" and terminated["exitCode"] == 137
    assert status["qosClass"] == "Guaranteed"           # limits only: requests default to them


def test_run_as_non_root_refuses_a_root_image(pods):
    status = pods.wait_for("rootless", lambda s: s["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
                           == "CreateContainerConfigError", timeout=90)
    message = status["containerStatuses"][0]["state"]["waiting"]["message"]
    assert message.startswith("container has runAsNonRoot and image will run as root")
    assert status["phase"] == "Pending"


def test_init_containers_run_in_order_and_the_job_succeeds(pods):
    status = pods.wait_for("job", lambda s: s["phase"] in ("Failed", "Succeeded"), timeout=60)
    assert status["phase"] == "Succeeded", podman("logs", "kube-kubelet-it_default_job_check", check=False).stderr
    assert [c["state"]["terminated"]["reason"] for c in status["initContainerStatuses"]] == ["Completed"] * 2
    assert status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert condition(status, "Ready") == "False" and condition(status, "Initialized") == "True"
    assert next(c for c in status["conditions"] if c["type"] == "Ready")["reason"] == "PodCompleted"


def test_on_failure_restarts_a_failing_job_container(pods):
    status = pods.wait_for("failing-job", lambda s: s["containerStatuses"][0]["restartCount"] >= 1, timeout=90)
    assert status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 3
    assert status["phase"] == "Running"


def test_delete_removes_the_pod_and_its_containers(pods):
    removal = pods.runtime.delete("default", "failing-job", grace_seconds=0)
    assert pods.status("failing-job") is None                  # forgotten at once, removed in the background
    removal.result(timeout=90)
    assert podman("pod", "exists", "kube-kubelet-it_default_failing-job", check=False).returncode == 1


def test_startup_probe_gates_started_and_readiness(pods):
    status = pods.wait_for("client", lambda s: s["containerStatuses"][0]["ready"])
    assert status["containerStatuses"][0]["started"] is True and condition(status, "Ready") == "True"


def test_a_missing_config_map_holds_the_pod_until_it_exists(pods):
    status = pods.wait_for("late-config", lambda s: "message" in s["containerStatuses"][0]["state"].get("waiting", {}))
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating" and 'configmap "late" not found' in waiting["message"]
    pods.resolver.config_maps[("default", "late")] = {"data": {"greeting": "hello"}}
    pods.wait_for("late-config", lambda s: s["phase"] == "Running", timeout=90)
    assert exec_in("late-config", "cat", "/late/greeting").stdout == b"hello"


def test_a_failing_init_container_fails_a_never_restarting_pod(pods):
    status = pods.wait_for("init-fails", lambda s: s["phase"] == "Failed", timeout=60)
    (init,) = status["initContainerStatuses"]
    assert init["state"]["terminated"]["exitCode"] == 1 and init["state"]["terminated"]["reason"] == "Error"
    assert condition(status, "Initialized") == "False"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"


def test_a_claim_is_the_resolvers_folder_writable_through_fs_group(pods):
    pods.wait_for("client", lambda s: s["containerStatuses"][0]["ready"])
    written = exec_in("client", "sh", "-c", "id -G; touch /data/written")
    assert written.returncode == 0 and "4242" in written.stdout.decode().split(), written.stderr
    folder = pods.resolver.volume_dir("default", "client-data")
    assert os.path.isfile(os.path.join(folder, "written")) and os.stat(folder).st_gid == 4242


def test_an_image_that_appears_later_starts_the_container(pods):
    pods.wait_for("late-image", lambda s: s["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
                  in ("ErrImagePull", "ImagePullBackOff"), timeout=90)
    podman("tag", ORTHANC, LATE_IMAGE)
    try:
        status = pods.wait_for("late-image", lambda s: s["phase"] == "Running", timeout=60)
        assert status["containerStatuses"][0]["image"] == LATE_IMAGE
    finally:
        podman("untag", ORTHANC, LATE_IMAGE, check=False)
