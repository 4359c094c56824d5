"""PodmanRuntime: the lab kubelet. One podman pod per Kubernetes Pod on the cluster network, containers started
the way the kubelet starts them, probes and restarts driven by one scheduler thread plus a small worker pool.

Life of a pod: sync() records it and returns at once (phase Pending); a worker creates the podman pod (its infra
container holds the pod IP), writes /etc/hosts and the volumes, runs the init containers in order to completion,
then creates and starts the app containers. The scheduler thread (every `tick` seconds) lists the cluster's
containers in one podman call, notices exits (restart per restartPolicy with the kubelet's back-off: immediately,
then base, 2*base ... 300 s, shown as CrashLoopBackOff), runs due probes on the pool, retries containers waiting
on a missing image or a missing ConfigMap/Secret, rewrites /etc/hosts when Services change and refreshes
projected tokens. statuses() and the optional on_change callback report API-shaped pod statuses."""
import concurrent.futures
import json
import logging
import os
import shutil
import subprocess
import threading
import time

from lab.containers.runtime import LABEL, ContainerError, podman, podman_env, podman_json, remove_labelled
from lab.kube.kubelet.env import ConfigError, container_env
from lab.kube.kubelet.network import ClusterNetwork, cluster_owner
from lab.kube.kubelet.probes import ProbeState, run_probe
from lab.kube.kubelet.spec import create_args, non_root_refusal
from lab.kube.kubelet.status import Conditions, container_status, qos_class, rfc3339
from lab.kube.kubelet.volumes import PodVolumes, VolumeError

LOG = logging.getLogger("lab.kube.kubelet")
MAX_BACKOFF = 300.0
HOSTS_HEADER = ("# Kubernetes-managed hosts file (the lab kubelet keeps the Service names current).\n"
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")


class _Container:
    """What the kubelet knows of one container."""

    def __init__(self, spec, kind, podman_name, waiting_reason):
        self.spec, self.kind, self.podman_name = spec, kind, podman_name
        self.name = spec["name"]
        self.state, self.waiting = "waiting", {"reason": waiting_reason}
        self.running_since = None
        self.terminated = None
        self.last_state = {}
        self.restart_count = self.crashes = self.pull_attempts = 0
        self.ready = self.started = self.created = self.busy = self.killed_by_probe = False
        self.image_id = self.container_id = ""
        self.retry_at = None          # when set: create (not created) or restart (created) at that time
        self.probes = {}

    def state_dict(self):
        if self.state == "running":
            return {"running": {"startedAt": rfc3339(self.running_since)}}
        if self.state == "terminated":
            return {"terminated": dict(self.terminated)}
        return {"waiting": dict(self.waiting)}

    def wait(self, reason, message=None, retry_in=None):
        self.state, self.ready, self.started = "waiting", False, False
        self.waiting = {"reason": reason, **({"message": message} if message else {})}
        self.retry_at = None if retry_in is None else time.time() + retry_in

    def run(self, now):
        self.state, self.running_since, self.retry_at, self.killed_by_probe = "running", now, None, False
        self.probes = {kind: ProbeState(kind, self.spec[f"{kind}Probe"], now)
                       for kind in ("startup", "liveness", "readiness") if self.spec.get(f"{kind}Probe")}
        self.started = "startup" not in self.probes
        self.ready = self.started and "readiness" not in self.probes


class _Pod:
    def __init__(self, pod, resolver, podman_name, folder, waiting_reason):
        self.pod, self.resolver, self.podman_name, self.dir = pod, resolver, podman_name, folder
        meta = pod["metadata"]
        self.namespace, self.name, self.uid = meta.get("namespace", "default"), meta["name"], meta.get("uid", "")
        self.policy = pod["spec"].get("restartPolicy", "Always")
        self.conditions = Conditions()
        self.conditions.set("PodScheduled", True)
        self.conditions.set("PodReadyToStartContainers", False)
        self.ip, self.infra_pid = "", 0
        self.start_time = rfc3339()
        self.initialized = not pod["spec"].get("initContainers")
        self.failed = self.deleted = False
        self.volumes, self.volume_paths, self.hosts_text = None, {}, ""
        self.init = [_Container(spec, "init", f"{podman_name}_{spec['name']}", "PodInitializing")
                     for spec in pod["spec"].get("initContainers") or []]
        reason = "PodInitializing" if self.init else "ContainerCreating"
        self.apps = [_Container(spec, "app", f"{podman_name}_{spec['name']}", reason)
                     for spec in pod["spec"]["containers"]]


class PodmanRuntime:
    """The lab kubelet (lab.kube.contracts.PodRuntime) on podman.

    cluster       the cluster's name; everything is labelled io.medimaging.lab=kube-<cluster>
    state_dir     the cluster's folder: pods/<namespace>_<name>/ holds each pod's volumes and hosts file
    network       a ClusterNetwork (shared with PodmanServiceNetwork), or None for kube-<cluster> on a free /24
    node_name     spec.nodeName the pods report (the node's hostIP is the network's gateway)
    backoff_base  the first crash-loop delay (the kubelet's 10 s); tests shorten it
    tick          seconds between scheduler rounds
    on_change     optional fn(namespace, name, status) called from the scheduler when a pod's status changes
    """

    def __init__(self, cluster, state_dir, network=None, node_name="lab-node", backoff_base=10.0, tick=1.0,
                 on_change=None):
        self.cluster, self.owner = cluster, cluster_owner(cluster)
        self.state_dir, self.node_name = state_dir, node_name
        self.network = (network or ClusterNetwork(cluster)).ensure()
        self.backoff_base, self.tick, self.on_change = backoff_base, tick, on_change
        # fn(namespace, name, uid, pid) each, once the pod's network namespace exists (pid: its infra process) and
        # before any container starts: network policy of the pod (the OVN EgressFirewall) is in place from the start.
        self.sandbox_hooks = []
        self._pods = {}
        self._lock = threading.RLock()
        self._reported = {}
        self._removals = {}           # (namespace, name) -> the Future of a pod's removal
        # Workers: pod starts (an init container holds one while it runs), removals, probes.
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix=f"kubelet-{cluster}")
        self._stop = threading.Event()
        self._scheduler = threading.Thread(target=self._loop, name=f"kubelet-{cluster}-scheduler", daemon=True)
        self._scheduler.start()

    def podman_name(self, namespace, name):
        """The podman pod of a Kubernetes Pod; its containers are <that>_<container>. '_' never occurs in
        Kubernetes names, so no two pods share one."""
        return f"{self.owner}_{namespace}_{name}"

    # ---- the PodRuntime protocol ------------------------------------------------------------------------
    def sync(self, pod, resolver):
        key = (pod["metadata"].get("namespace", "default"), pod["metadata"]["name"])
        with self._lock:
            current = self._pods.get(key)
            if current is not None and current.uid == pod["metadata"].get("uid", ""):
                current.resolver = resolver
                return self._status(current)
        if current is not None:                       # same name, new object: replace
            self.delete(*key, grace_seconds=0)
        with self._lock:
            removal = self._removals.pop(key, None)
        if removal is not None:                       # the previous pod of this name must be gone first
            removal.result(timeout=120)
        podman_name = self.podman_name(*key)
        entry = _Pod(pod, resolver, podman_name, os.path.join(self.state_dir, "pods", f"{key[0]}_{key[1]}"),
                     "ContainerCreating")
        with self._lock:
            self._pods[key] = entry
            status = self._status(entry)
        self._pool.submit(self._guarded, self._start, entry)
        return status

    def delete(self, namespace, name, grace_seconds=30):
        """Forget the pod at once (statuses() no longer lists it) and stop it in the background within its grace
        period, as the kubelet does: a slow SIGTERM never holds up the caller. A new pod of the same name waits
        for this removal before it starts."""
        with self._lock:
            entry = self._pods.pop((namespace, name), None)
            self._reported.pop((namespace, name), None)
            if entry is not None:
                entry.deleted = True
            removal = self._pool.submit(self._guarded, self._remove, entry, self.podman_name(namespace, name),
                                        grace_seconds)
            self._removals[(namespace, name)] = removal
        removal.add_done_callback(lambda done: self._removals.pop((namespace, name), None)
                                  if self._removals.get((namespace, name)) is done else None)
        return removal

    def _remove(self, entry, podman_name, grace_seconds):
        podman("pod", "stop", "-t", int(grace_seconds), podman_name, check=False)
        podman("pod", "rm", "-f", podman_name, check=False)
        if entry is not None:
            shutil.rmtree(entry.dir, ignore_errors=True)

    def statuses(self):
        with self._lock:
            return {key: self._status(entry) for key, entry in self._pods.items()}

    def shutdown(self):
        self._stop.set()
        self._scheduler.join(timeout=10)
        with self._lock:
            for entry in self._pods.values():
                entry.deleted = True
            self._pods.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        remove_labelled(self.owner)                   # containers, pods, the network
        shutil.rmtree(os.path.join(self.state_dir, "pods"), ignore_errors=True)

    # ---- starting a pod (on the pool) -------------------------------------------------------------------
    def _guarded(self, action, *args):
        try:
            action(*args)
        except Exception:                             # pylint: disable=broad-except
            LOG.exception("lab kubelet: %s failed", getattr(action, "__name__", action))

    def _start(self, entry):
        try:
            self._sandbox(entry)
        except ContainerError as exc:
            with self._lock:                          # the kubelet's sandbox failures leave the pod Pending
                for container in entry.init + entry.apps:
                    container.wait(container.waiting["reason"], f"Failed to create pod sandbox: {exc}")
            raise
        if entry.deleted:                             # deleted while the sandbox was being made
            podman("pod", "rm", "-f", entry.podman_name, check=False)
            return
        for hook in self.sandbox_hooks:
            hook(entry.namespace, entry.name, entry.uid, entry.infra_pid)
        self._write_hosts(entry)
        with self._lock:
            entry.conditions.set("PodReadyToStartContainers", True)
        while not entry.deleted:
            try:
                entry.volumes = PodVolumes(entry.pod, entry.resolver, entry.dir)
                entry.volume_paths = entry.volumes.build()
                break
            except (VolumeError, LookupError) as exc:    # the API's resolver: claim not bound, account missing
                for container in entry.init + entry.apps:
                    container.wait(container.waiting["reason"], str(exc))
                time.sleep(2)
        for container in entry.init:
            if not self._run_init(entry, container):
                return
        with self._lock:
            entry.initialized = True
        for container in entry.apps:
            if entry.deleted:
                return
            self._create_start(entry, container)

    def _sandbox(self, entry):
        """The podman pod (its infra container holds the network namespace and the pod IP)."""
        os.makedirs(entry.dir, exist_ok=True)
        hostname = entry.pod["spec"].get("hostname") or entry.name[:63]
        create = ["pod", "create", "--name", entry.podman_name, "--network", self.network.name, "--hostname",
                  hostname, *[f"--label={key}={value}" for key, value in self._labels(entry).items()]]
        if podman(*create, check=False).returncode != 0:   # a leftover of a crashed kubelet: replace it
            podman("pod", "rm", "-f", entry.podman_name, check=False)
            podman(*create)
        podman("pod", "start", entry.podman_name)
        infra = podman("pod", "inspect", "--format", "{{.InfraContainerID}}", entry.podman_name).stdout.decode()
        details = podman_json("container", "inspect", infra.strip())[0]
        entry.ip = details["NetworkSettings"]["Networks"][self.network.name]["IPAddress"]
        entry.infra_pid = details["State"]["Pid"]

    def _run_init(self, entry, container):
        """Run one init container to completion, restarting it on failure unless restartPolicy is Never."""
        while not entry.deleted:
            if not container.created:
                if not self._create_start(entry, container):
                    time.sleep(max(0.5, (container.retry_at or 0) - time.time()))
                    continue
            else:
                self._restart(entry, container)
            podman("wait", container.podman_name, check=False)
            if entry.deleted:
                return False
            terminated = self._terminated(container)
            with self._lock:
                container.state, container.terminated, container.ready = "terminated", terminated, False
                if terminated["exitCode"] == 0:
                    return True
                if entry.policy == "Never":
                    entry.failed = True
                    return False
                container.last_state = {"terminated": terminated}
                delay = self._next_delay(container)
                if delay:
                    container.wait("CrashLoopBackOff", self._backoff_message(entry, container, delay))
            time.sleep(delay)
        return False

    def _create_start(self, entry, container):
        """Create and start one container; on a missing image or configuration, wait with the kubelet's reason."""
        image = container.spec["image"]
        found = podman("image", "inspect", "--format", "json", image, check=False)
        if found.returncode != 0:
            first = container.waiting.get("reason") not in ("ErrImagePull", "ImagePullBackOff")
            # Checked again after base, 2*base ... 300 s, as the kubelet's image pull back-off.
            container.pull_attempts = 1 if first else container.pull_attempts + 1
            retry = min(self.backoff_base * 2 ** (container.pull_attempts - 1), MAX_BACKOFF)
            with self._lock:
                if first:
                    container.wait("ErrImagePull", f'Failed to pull image "{image}": image not present locally '
                                   "(the lab kubelet never pulls: build or load it with podman first)", retry_in=retry)
                else:
                    container.wait("ImagePullBackOff", f'Back-off pulling image "{image}"', retry_in=retry)
            return False
        details = json.loads(found.stdout.decode())[0]
        container.image_id = (f"{image.split('@')[0].rsplit(':', 1)[0]}@{details['Digest']}"
                              if details.get("Digest") else f"sha256:{details['Id']}")
        refusal = non_root_refusal(entry.pod, container.spec, (details.get("Config") or {}).get("User", ""))
        try:
            if refusal:
                raise ConfigError(refusal)
            env = container_env(container.spec, entry.pod, entry.resolver, entry.ip, self.network.gateway)
            argv = create_args(entry.pod, container.spec, container.podman_name, entry.podman_name,
                               self._labels(entry, container), env, entry.volume_paths,
                               os.path.join(entry.dir, "hosts"))
        except (ConfigError, ValueError) as exc:
            with self._lock:
                container.wait("CreateContainerConfigError", str(exc), retry_in=self.backoff_base)
            return False
        if container.created:
            podman("rm", "-f", container.podman_name, check=False)
        process_env = podman_env()
        process_env.update(dict(env))
        for name in ("PATH", "HOME"):
            process_env[name] = os.environ.get(name, process_env.get(name, ""))
        done = subprocess.run(["podman", *argv], env=process_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False)
        if done.returncode != 0:
            with self._lock:
                container.wait("CreateContainerError", done.stderr.decode(errors="replace").strip()[-300:],
                               retry_in=self.backoff_base)
            return False
        container.created = True
        container.container_id = "podman://" + done.stdout.decode().strip()
        started = podman("start", container.podman_name, check=False)
        with self._lock:
            if started.returncode != 0:
                container.wait("RunContainerError", started.stderr.decode(errors="replace").strip()[-300:],
                               retry_in=self.backoff_base)
                return False
            container.run(time.time())
        return True

    # ---- the scheduler ----------------------------------------------------------------------------------
    def _loop(self):
        last_housekeeping = 0.0
        while not self._stop.wait(self.tick):
            try:
                self._round()
                if time.time() - last_housekeeping >= 2:
                    last_housekeeping = time.time()
                    self._housekeeping()
                self._report()
            except Exception:                         # pylint: disable=broad-except
                LOG.exception("lab kubelet scheduler round failed")

    def _round(self):
        with self._lock:
            pods = [entry for entry in self._pods.values() if entry.initialized and not entry.failed]
        if not pods:
            return
        listed_at = time.time()
        listing = podman("ps", "-a", "--filter", f"label={LABEL}={self.owner}", "--format", "json",
                         check=False).stdout.decode().strip()
        states = {item["Names"][0]: item["State"] for item in (json.loads(listing) if listing else [])}
        now = time.time()
        for entry in pods:
            for container in entry.apps:
                if container.busy or entry.deleted:
                    continue
                seen_running = states.get(container.podman_name) == "running" or \
                    (container.running_since or 0) >= listed_at           # (re)started after the listing
                if container.state == "running" and not seen_running:
                    container.busy = True
                    self._pool.submit(self._guarded, self._exited, entry, container)
                elif container.state == "running":
                    self._due_probes(entry, container, now)
                elif container.retry_at is not None and now >= container.retry_at:
                    container.busy, container.retry_at = True, None
                    restart = container.waiting.get("reason") in ("CrashLoopBackOff", "RunContainerError")
                    action = self._restart if restart else self._create_start
                    self._pool.submit(self._guarded, self._released, action, entry, container)

    def _released(self, action, entry, container):
        try:
            action(entry, container)
        finally:
            container.busy = False

    def _due_probes(self, entry, container, now):
        for kind, probe in container.probes.items():
            if probe.in_flight or now < probe.due:
                continue
            if kind == "startup" and container.started or kind != "startup" and not container.started:
                continue
            probe.in_flight = True
            self._pool.submit(self._guarded, self._probe, entry, container, probe)

    def _probe(self, entry, container, probe):
        success, message = run_probe(probe.probe, container.spec, entry.ip, container.podman_name)
        with self._lock:
            if container.state != "running" or entry.deleted:
                probe.in_flight = False
                return
            verdict = probe.record(success, message, time.time())
            if verdict is None:
                return
            if probe.kind == "readiness":
                container.ready = verdict and container.started
                # a Service stops sending to a pod that is not Ready: say when and why, as kubelet's events do
                LOG.info("lab kubelet: %s/%s %s (readiness probe: %s)", entry.name, container.name,
                         "Ready" if verdict else "not Ready", message or "ok")
            elif probe.kind == "startup" and verdict:
                container.started = True
                container.ready = "readiness" not in container.probes
            elif not verdict and not container.busy:
                LOG.info("lab kubelet: %s probe of %s/%s failed (%s): killing it", probe.kind, entry.name,
                         container.name, message)
                container.busy = container.killed_by_probe = True
                self._pool.submit(self._guarded, self._released, self._kill, entry, container)

    def _kill(self, entry, container):
        grace = entry.pod["spec"].get("terminationGracePeriodSeconds", 30)
        podman("stop", "-t", int(grace), container.podman_name, check=False)
        self._exited(entry, container)

    def _exited(self, entry, container):
        """A running container stopped: record it, then restart it per restartPolicy (with back-off)."""
        try:
            terminated = self._terminated(container)
            with self._lock:
                restart = entry.policy == "Always" or entry.policy == "OnFailure" and terminated["exitCode"] != 0
                container.ready = container.started = False
                if not restart:
                    container.state, container.terminated = "terminated", terminated
                    return
                container.last_state = {"terminated": terminated}
                if container.running_since and time.time() - container.running_since > 2 * MAX_BACKOFF:
                    container.crashes = 0             # ran long enough: the back-off starts again
                delay = self._next_delay(container)
                if delay:
                    container.wait("CrashLoopBackOff", self._backoff_message(entry, container, delay), retry_in=delay)
                else:
                    container.wait("ContainerCreating")   # restarted at once, below
            if not delay:
                self._restart(entry, container)
        finally:
            container.busy = False

    def _restart(self, entry, container):
        if entry.deleted:
            return
        started = podman("start", container.podman_name, check=False)
        with self._lock:
            container.restart_count += 1
            if started.returncode != 0:
                container.wait("RunContainerError", started.stderr.decode(errors="replace").strip()[-300:],
                               retry_in=self._next_delay(container) or self.backoff_base)
                return
            container.run(time.time())

    def _next_delay(self, container):
        delay = 0.0 if container.crashes == 0 else min(self.backoff_base * 2 ** (container.crashes - 1), MAX_BACKOFF)
        container.crashes += 1
        return delay

    @staticmethod
    def _backoff_message(entry, container, delay):
        return (f"back-off {int(delay)}s restarting failed container={container.name} "
                f"pod={entry.name}_{entry.namespace}({entry.uid})")

    @staticmethod
    def _terminated(container):
        """The terminated state of a stopped container, from podman inspect."""
        found = podman("container", "inspect", container.podman_name, check=False).stdout.decode().strip()
        state = json.loads(found)[0]["State"] if found.startswith("[") and found != "[]" else {}
        code = state.get("ExitCode", -1)
        # podman 4.3 with runc on cgroupfs does not always see the OOM kill: a SIGKILL the kubelet did not send, in
        # a container with a memory limit, is the kernel's OOM killer.
        limited = "memory" in ((container.spec.get("resources") or {}).get("limits") or {})
        oom = state.get("OOMKilled") or code == 137 and limited and not container.killed_by_probe
        reason = "OOMKilled" if oom else ("Completed" if code == 0 else "Error")
        return {"exitCode": code, "reason": reason, "startedAt": rfc3339(container.running_since),
                "finishedAt": rfc3339(), "containerID": container.container_id}

    # ---- hosts files, tokens, reports -------------------------------------------------------------------
    def _housekeeping(self):
        with self._lock:
            pods = [entry for entry in self._pods.values() if entry.ip and not entry.deleted]
        for entry in pods:
            self._write_hosts(entry)
            if entry.volumes is not None:
                entry.volumes.refresh_tokens(entry.volume_paths)

    def _write_hosts(self, entry):
        """Rewrite the pod's hosts file in place (the bind mount follows the inode, not the name)."""
        names = {}
        for name, address in sorted((entry.resolver.hosts(entry.namespace) or {}).items()):
            names.setdefault(address, []).append(name)
        spec = entry.pod["spec"]
        hostname = spec.get("hostname") or entry.name[:63]
        own = f"{hostname}.{spec['subdomain']}.{entry.namespace}.svc.cluster.local\t{hostname}" \
            if spec.get("subdomain") else hostname            # a StatefulSet pod's name under its headless Service
        aliases = "".join(f"{alias['ip']}\t{' '.join(alias.get('hostnames') or [])}\n"
                          for alias in spec.get("hostAliases") or [])
        text = HOSTS_HEADER + f"{entry.ip}\t{own}\n" + "".join(
            f"{address}\t{' '.join(hosts)}\n" for address, hosts in sorted(names.items()))
        if aliases:
            text += "\n# Entries added by HostAliases.\n" + aliases
        if text != entry.hosts_text:
            with open(os.path.join(entry.dir, "hosts"), "w", encoding="ascii") as handle:
                handle.write(text)
            entry.hosts_text = text

    def _report(self):
        if self.on_change is None:
            return
        changed = []
        with self._lock:
            for key, entry in self._pods.items():
                status = self._status(entry)
                if self._reported.get(key) != status:
                    self._reported[key] = status
                    changed.append((key, status))
        for (namespace, name), status in changed:
            try:
                self.on_change(namespace, name, status)
            except Exception:                         # pylint: disable=broad-except
                LOG.exception("lab kubelet: on_change for %s/%s failed", namespace, name)

    def _labels(self, entry, container=None):
        labels = {LABEL: self.owner, "io.kubernetes.pod.namespace": entry.namespace,
                  "io.kubernetes.pod.name": entry.name, "io.kubernetes.pod.uid": entry.uid}
        if container is not None:
            labels["io.kubernetes.container.name"] = container.name
        return labels

    def _status(self, entry):
        """The API-shaped status of one pod (call with the lock held)."""
        apps = entry.apps
        all_created = entry.initialized and all(c.created for c in apps)
        if entry.failed:
            phase = "Failed"
        elif not all_created:
            phase = "Pending"
        elif any(c.state != "terminated" for c in apps):
            phase = "Running"
        else:
            phase = "Succeeded" if all(c.terminated["exitCode"] == 0 for c in apps) else "Failed"
        conditions = entry.conditions
        if entry.initialized:
            conditions.set("Initialized", True)
        else:
            pending = [c.name for c in entry.init if c.state != "terminated" or c.terminated["exitCode"] != 0]
            conditions.set("Initialized", False, "ContainersNotInitialized",
                           f"containers with incomplete status: [{' '.join(pending)}]")
        unready = [c.name for c in apps if not c.ready]
        for kind in ("ContainersReady", "Ready"):
            if phase in ("Succeeded", "Failed"):
                conditions.set(kind, False, "PodCompleted")
            elif unready:
                conditions.set(kind, False, "ContainersNotReady",
                               f"containers with unready status: [{' '.join(unready)}]")
            else:
                conditions.set(kind, True)
        status = {"phase": phase, "conditions": conditions.as_list(), "hostIP": self.network.gateway,
                  "hostIPs": [{"ip": self.network.gateway}], "startTime": entry.start_time,
                  "qosClass": qos_class(entry.pod), "containerStatuses": [container_status(c) for c in apps]}
        if entry.ip:
            status.update(podIP=entry.ip, podIPs=[{"ip": entry.ip}])
        if entry.init:
            status["initContainerStatuses"] = [container_status(c) for c in entry.init]
        return status



