"""One lab cluster in this process: the API server, its controllers, the node loop, the flavour's extensions.

`Cluster(...).start()` / `.stop()`, or `running_cluster(...)` as a context manager for tests. The launcher
(python -m lab.kube) runs the same thing as a daemon. State (tokens, the signing key, kubeconfigs, PVC folders)
lives in the cluster's state folder and is reused, so a restarted cluster keeps its credentials and issuer.
"""
import base64
import contextlib
import json
import os
import secrets
import shutil
import tempfile

import yaml

from lab.ca import LabCA
from lab.kube import controllers
from lab.kube.api.auth import ADMIN_GROUP, Authenticator
from lab.kube.api.defaults import BuiltinDefaults
from lab.kube.api.server import ApiApp, ApiServer
from lab.kube.api.store import MemoryStore
from lab.kube.contracts import ClusterContext, UserInfo
from lab.kube.tokens import ServiceAccountTokens
from lab.proc import LOOPBACK, LabError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, ".cache", "tools", "bin")  # helm and kubectl (scripts/install-kube-binaries.sh)
NODE_NAME = "lab-node"
SYSTEM = UserInfo("system:apiserver", (ADMIN_GROUP,))
BOOT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def load_flavour(name, options):
    """The flavour's ClusterExtensions; a clear LabError when the flavour (or lab.kube.flavours) is missing."""
    if name == "plain":
        try:
            from lab.kube import flavours  # pylint: disable=import-outside-toplevel - optional package
        except ImportError:
            return []
        return flavours.load(name, **options)
    try:
        from lab.kube import flavours  # pylint: disable=import-outside-toplevel
        return flavours.load(name, **options)
    except (ImportError, ValueError) as err:
        raise LabError(f"cluster flavour {name!r} is not available ({err}): use --flavour plain, or one of the "
                       "flavours lab/kube/flavours provides") from err


class Cluster:
    """A running cluster.

    pods=True runs pods for real: the lab kubelet (lab.kube.kubelet) on a podman network kube-NAME, whose gateway
    also serves the API to pods. Otherwise `runtime`/`network` may be given (a PodRuntime/ServiceNetwork, as unit
    tests do); with neither, pods are scheduled but never run.
    """

    def __init__(self, name, state_dir, ca_dir, flavour="plain", port=0, runtime=None, network=None,
                 flavour_options=None, pods=False):
        self.name, self.flavour = name, flavour
        self.state_dir, self.ca_dir = os.path.abspath(state_dir), os.path.abspath(ca_dir)
        self.port, self.runtime, self.service_network = port, runtime, network
        self.flavour_options = flavour_options or {}
        self.pods = pods
        self.pod_network = self.gateway = ""
        self.service_ips = []
        self.store = self.server = self.gateway_server = self.tokens = self.context = None
        self.extensions, self._loops = [], []

    def _start_kubelet(self):
        from lab.kube import kubelet  # pylint: disable=import-outside-toplevel - podman only when pods run
        network = kubelet.ClusterNetwork(self.name).ensure()
        self.runtime = kubelet.PodmanRuntime(self.name, self.state_dir, network=network)
        self.service_network = kubelet.PodmanServiceNetwork(self.name, self.state_dir, network=network)
        self.pod_network, self.gateway = network.name, network.gateway
        self.service_ips = network.service_addresses()

    # ---- credentials ------------------------------------------------------------------------------------
    @property
    def credentials_file(self):
        return os.path.join(self.state_dir, "credentials.json")

    def _credentials(self):
        if os.path.exists(self.credentials_file):
            with open(self.credentials_file, encoding="utf-8") as handle:
                return json.load(handle)
        creds = {"admin": secrets.token_urlsafe(32), "readonly": secrets.token_urlsafe(32)}
        _write_private(self.credentials_file, json.dumps(creds))
        return creds

    @property
    def api_url(self):
        return f"https://{LOOPBACK}:{self.server.port}"

    @property
    def ca_file(self):
        return os.path.join(self.ca_dir, "ca.pem")

    def kubeconfig(self, identity="admin"):
        """A kubeconfig document (dict) for the admin or the readonly identity."""
        with open(self.ca_file, "rb") as handle:
            ca_data = base64.b64encode(handle.read()).decode("ascii")
        user = f"{self.name}-{identity}"
        return {"apiVersion": "v1", "kind": "Config", "preferences": {},
                "clusters": [{"name": self.name, "cluster": {"server": self.api_url,
                                                             "certificate-authority-data": ca_data}}],
                "users": [{"name": user, "user": {"token": self._credentials()[identity]}}],
                "contexts": [{"name": user, "context": {"cluster": self.name, "user": user,
                                                        "namespace": "default"}}],
                "current-context": user}

    def write_kubeconfigs(self):
        paths = {}
        for identity, filename in (("admin", "kubeconfig"), ("readonly", "kubeconfig-readonly")):
            paths[identity] = os.path.join(self.state_dir, filename)
            _write_private(paths[identity], yaml.safe_dump(self.kubeconfig(identity), sort_keys=False))
        return paths

    # ---- life ---------------------------------------------------------------------------------------------
    def start(self):
        from lab.kube.node import NodeLoop  # pylint: disable=import-outside-toplevel
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        self.extensions = load_flavour(self.flavour, self.flavour_options)
        if self.pods:
            self._start_kubelet()
        ca = LabCA(self.ca_dir)
        ca.ensure()
        # as kube-apiserver's: the in-cluster names and the `kubernetes` Service's address (the first allocated)
        sans = ("localhost", LOOPBACK, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local") + ((self.gateway, self.service_ips[0]) if self.gateway else ())
        cert, key = ca.issue_server_cert(f"kube-{self.name}", sans=sans)
        self.store = MemoryStore()
        self.store.builtin_admissions.append(BuiltinDefaults(self.service_ips))
        self.server = ApiServer((LOOPBACK, self.port), None, cert, key)
        if self.gateway:        # pods reach the API on their network's gateway, same port
            self.gateway_server = ApiServer((self.gateway, self.server.port), None, cert, key)
        self.tokens = ServiceAccountTokens(self.state_dir, self.api_url)
        creds = self._credentials()
        authenticator = Authenticator({creds["admin"]: UserInfo("lab-admin", (ADMIN_GROUP, "system:authenticated")),
                                       creds["readonly"]: UserInfo("lab-readonly", ("lab:readonly",
                                                                                    "system:authenticated"))},
                                      self.tokens)
        extra = {}
        for extension in self.extensions:
            for rtype in extension.resources():
                self.store.registry.add(rtype)
            self.store.admissions.extend(extension.admissions())
            extra.update(extension.http_paths())
        self.server.app = ApiApp(self.store, authenticator, self.tokens, extra)
        self.server.app.operations.runtime = self.runtime
        self._bootstrap()
        self.server.start()
        if self.gateway_server is not None:
            self.gateway_server.app = self.server.app
            self.gateway_server.start()
        self.write_kubeconfigs()
        # The Azure emulator reads a managed/connected cluster's OIDC issuer here (lab/azure/behaviours/aks.py).
        _write_private(os.path.join(self.state_dir, "issuer"), self.tokens.issuer + "\n")
        gateway_url = f"https://{self.gateway}:{self.server.port}" if self.gateway else self.api_url
        self.context = ClusterContext(self.name, self.flavour, self.state_dir, self.api_url, gateway_url, self.store,
                                      self.pod_network, self.gateway, self.ca_file, self.tokens)
        self._loops = controllers.start_all(self.store, self.state_dir, NODE_NAME, self.ca_file)
        if self.runtime is not None:
            self.store.graceful_pods = True      # the node stops deleted pods before they disappear
            node = NodeLoop(self.store, self.runtime, self.service_network, self.tokens, self.state_dir, NODE_NAME)
            node.start()
            self._loops.append(node)
        for extension in self.extensions:
            extension.start(self.context)
            if hasattr(self.runtime, "sandbox_hooks") and hasattr(extension, "sandbox_ready"):   # OVN's firewall
                self.runtime.sandbox_hooks.append(extension.sandbox_ready)
        return self

    def _bootstrap(self):
        for namespace in BOOT_NAMESPACES:
            self.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, SYSTEM)
        labels = {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                  "node-role.kubernetes.io/control-plane": ""}
        status = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                  "message": "lab node is posting ready status"}],
                  "nodeInfo": {"kubeletVersion": "v1.37.0", "containerRuntimeVersion": "podman",
                               "operatingSystem": "linux", "architecture": "amd64"},
                  "addresses": [{"type": "InternalIP", "address": self.gateway or LOOPBACK},
                                {"type": "Hostname", "address": NODE_NAME}]}
        self.store.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE_NAME, "labels": labels},
                           "status": status}, SYSTEM)
        self.store.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {
            "name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "lab.medimaging.io/host-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate"}, SYSTEM)
        self.store.create({"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver"}},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": self.server.port}]}}, SYSTEM)
        if self.gateway:        # kubernetes.default.svc:443 reaches the API from pods, as in a cluster
            self.store.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {
                "name": "kubernetes", "namespace": "default"}, "subsets": [{
                    "addresses": [{"ip": self.gateway}],
                    "ports": [{"name": "https", "port": self.server.port, "protocol": "TCP"}]}]}, SYSTEM)

    def stop(self):
        for extension in self.extensions:
            extension.stop()
        for loop in self._loops:
            loop.stop()
        if self.store is not None:
            self.store.stop()
        for server in (self.server, self.gateway_server):
            if server is not None:
                server.stop()
        if self.service_network is not None:     # addresses and forwarders before the pods and their network
            self.service_network.shutdown()
        if self.runtime is not None:
            self.runtime.shutdown()


@contextlib.contextmanager
def running_cluster(name="test", flavour="plain", **options):
    """A cluster in a temporary folder for one test module: stopped and removed after (with pods=True, its
    containers and network too, by the label io.medimaging.lab=kube-NAME)."""
    from lab.containers.runtime import remove_labelled  # pylint: disable=import-outside-toplevel
    from lab.kube.kubelet import cluster_owner  # pylint: disable=import-outside-toplevel
    pods = options.get("pods")
    if pods:
        remove_labelled(cluster_owner(name))            # a crashed earlier run's pods and network
    base = tempfile.mkdtemp(prefix=f"medimaging-kube-{name}-")
    os.chmod(base, 0o755)
    cluster = Cluster(name, os.path.join(base, "state"), os.path.join(base, "ca"), flavour, **options)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
        if pods:
            remove_labelled(cluster_owner(name))


def client_env(home, kubeconfig=None, base=None):
    """The environment helm and kubectl run with against a lab cluster: their own homes under `home` (nothing of
    the user's), the project's binaries first on PATH, and the cluster's kubeconfig when given."""
    env = dict(os.environ if base is None else base, HOME=home, HELM_CACHE_HOME=os.path.join(home, "helm-cache"),
               HELM_CONFIG_HOME=os.path.join(home, "helm-config"), HELM_DATA_HOME=os.path.join(home, "helm-data"))
    env["PATH"] = TOOLS + os.pathsep + env.get("PATH", "")
    if kubeconfig:
        env["KUBECONFIG"] = kubeconfig
    return env
