"""The OpenShift flavour's default router: a real HAProxy (Debian's) driven from the Routes in the store.

Every half second (and at once on start) it reads Routes, Services and Endpoints (or EndpointSlices), renders
haproxy.cfg (haproxy_config.render), and when the text changed: writes it with its certificate files, checks it
with `haproxy -c`, and reloads HAProxy (master-worker mode, SIGUSR2: old connections finish on the old worker).
Then it writes status.ingress Admitted on the routes it serves (False/HostAlreadyClaimed on the ones it refuses).
HAProxy is this process's child, stopped by its PID in stop(). Backends are the pods' IPs on the cluster network,
which this machine reaches directly.
"""
import logging
import os
import signal
import subprocess
import threading
import time

from lab.kube.contracts import Conflict, UserInfo
from lab.kube.flavours import haproxy_config, routes as route_rules
from lab.proc import LabError, port_in_use, stop_pid

ROUTER_USER = UserInfo("system:serviceaccount:openshift-ingress:router", ("system:serviceaccounts",
                                                                          "system:authenticated"))
log = logging.getLogger(__name__)


def route_servers(route, service, endpoints, slices):
    """[(ip, port)] of the route's ready pods: Endpoints first, else EndpointSlices; port by spec.port.targetPort
    (a port name, or a number matched against the pod port or the Service port that targets it)."""
    wanted = ((route["spec"].get("port") or {}).get("targetPort"))
    service_ports = (service or {}).get("spec", {}).get("ports") or []

    def pick(ports):
        """ports: [{name, port}] of one endpoint set -> the port number to use, or None."""
        if wanted is None:
            return ports[0]["port"] if ports else None
        for port in ports:
            if port.get("name") == wanted or port.get("port") == wanted:
                return port["port"]
        for sport in service_ports:          # the route names the Service's port: use the endpoint it maps to
            if sport.get("port") == wanted or sport.get("name") == wanted:
                for port in ports:
                    if port.get("name", "") == sport.get("name", ""):
                        return port["port"]
        return None

    found = []
    if endpoints:
        for subset in endpoints.get("subsets") or []:
            port = pick(subset.get("ports") or [])
            found += [(address["ip"], port) for address in subset.get("addresses") or [] if port]
        return found
    for endpoint_slice in slices or []:
        port = pick(endpoint_slice.get("ports") or [])
        for endpoint in endpoint_slice.get("endpoints") or []:
            if port and (endpoint.get("conditions") or {}).get("ready", True):
                found += [(address, port) for address in endpoint.get("addresses") or []]
    return found


class Every:
    """A daemon thread calling step() every `interval` seconds until stop(); a failing pass is logged and tried
    again (the router keeps serving its last good configuration meanwhile)."""

    def __init__(self, name, interval, step):
        self.name, self.interval, self.step = name, interval, step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception:                       # noqa: BLE001 - a background loop must outlive one bad pass
                log.exception("%s failed; trying again", self.name)


class Router:
    def __init__(self, store, paths, apps_domain, interval=0.5):
        self.store, self.paths, self.apps_domain, self.interval = store, paths, apps_domain, interval
        self.config_path = os.path.join(paths.directory, "haproxy.cfg")
        self.log_path = os.path.join(paths.directory, "haproxy.log")
        self.process = None
        self.rendered = None
        self.reloads = 0
        self._loop = None

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def start(self):
        os.makedirs(self.paths.directory, exist_ok=True)
        self.sync()
        self._loop = Every("openshift-router", self.interval, self.sync).start()

    def stop(self):
        if self._loop:
            self._loop.stop()
        if self.process is not None:
            stop_pid(self.process.pid, timeout=10)
            self.process.wait(timeout=5)
            self.process = None

    # ---- one pass ----------------------------------------------------------------------------------------
    def desired(self):
        all_routes = self.store.list(route_rules.API_VERSION, "routes")
        servers = {}
        for route in all_routes:
            namespace, target = route["metadata"].get("namespace", ""), route["spec"]["to"]["name"]
            service = self.store.get("v1", "services", namespace, target)
            endpoints = self.store.get("v1", "endpoints", namespace, target)
            slices = [] if endpoints else self._slices(namespace, target)
            servers[(namespace, route["metadata"]["name"])] = route_servers(route, service, endpoints, slices)
        return all_routes, haproxy_config.render(all_routes, servers, self.paths)

    def _slices(self, namespace, service):
        try:
            return self.store.list("discovery.k8s.io/v1", "endpointslices", namespace,
                                   label_selector=f"kubernetes.io/service-name={service}")
        except Exception:                           # noqa: BLE001 - an API without EndpointSlices
            return []

    def sync(self):
        all_routes, rendered = self.desired()
        if self.rendered is None or rendered.config != self.rendered.config \
                or rendered.files != self.rendered.files or not self.running():
            self.apply(rendered)
        self.rendered = rendered
        self.write_statuses(all_routes, rendered)

    def apply(self, rendered):
        for path, text in rendered.files.items():
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(path, 0o600)
        candidate = self.config_path + ".new"
        with open(candidate, "w", encoding="utf-8") as handle:
            handle.write(rendered.config)
        check = subprocess.run(["haproxy", "-c", "-q", "-f", candidate], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise LabError(f"haproxy refused the rendered configuration ({candidate}): {check.stderr.strip()}")
        os.replace(candidate, self.config_path)
        if self.running():
            self.process.send_signal(signal.SIGUSR2)
            self.reloads += 1
        else:
            self._spawn()

    def running(self):
        return self.process is not None and self.process.poll() is None

    def _spawn(self):
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                ["haproxy", "-W", "-db", "-f", self.config_path], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_in_use(self.paths.https_port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                    tail = handle.read()[-800:]
                raise LabError(f"haproxy did not start listening on 127.0.0.1:{self.paths.https_port}: {tail}")
            time.sleep(0.05)

    def write_statuses(self, all_routes, rendered):
        for route in all_routes:
            key = (route["metadata"].get("namespace", ""), route["metadata"]["name"])
            if key in rendered.rejected:
                status = rejected_status(route, rendered.rejected[key], route.get("status"))
            else:
                status = route_rules.admitted_status(route, self.apps_domain, route.get("status"))
            if status != route.get("status"):
                route["status"] = status
                try:
                    self.store.update(route, ROUTER_USER, subresource="status")
                except Conflict:
                    pass                            # changed meanwhile: the next pass writes it


def rejected_status(route, reason_text, previous):
    host = route["spec"]["host"]
    for ingress in (previous or {}).get("ingress") or []:
        if ingress.get("host") == host and any(c.get("reason") == "HostAlreadyClaimed"
                                               for c in ingress.get("conditions") or []):
            return previous
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"ingress": [{"host": host, "routerName": route_rules.ROUTER_NAME, "wildcardPolicy": "None",
                         "conditions": [{"type": "Admitted", "status": "False", "reason": "HostAlreadyClaimed",
                                         "message": reason_text, "lastTransitionTime": stamp}]}]}

