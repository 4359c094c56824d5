"""The seams between the lab cluster's parts, so each part can be built and tested on its own.

    api/        the HTTP API server and its store: owns resources, discovery, watch, patch, auth, admission calls
    controllers the workload controllers (Deployment -> ReplicaSet -> Pod, StatefulSet, Job), status roll-ups
    kubelet/    runs Pods with podman (PodRuntime), probes, volumes; Services reachable (ServiceNetwork)
    flavours/   AKS (service-account issuer published, workload-identity webhook) and OpenShift (Routes on
                HAProxy, projects, restricted-v2 SCC admission) as ClusterExtensions

Everything here is plain data (dicts shaped like the Kubernetes JSON objects) and small protocols; no part imports
another part's internals, only this module.
"""
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Protocol


# ---- resources ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResourceType:
    """One served resource, as discovery lists it. group "" is the core group."""
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple = ()
    subresources: tuple = ()          # e.g. ("status", "scale") or ("token",) for serviceaccounts
    verbs: tuple = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass
class UserInfo:
    """Who is calling (from the bearer token). Kubelet and controllers act as system:... users."""
    name: str
    groups: tuple = ()


# ---- admission ---------------------------------------------------------------------------------------------
@dataclass
class AdmissionRequest:
    """What an admission plugin sees. `obj` is the object about to be stored (mutate it in place); `old` the stored
    one on UPDATE/DELETE. `namespace_object` is the Namespace dict (annotations such as the OpenShift uid range)."""
    operation: str                    # CREATE | UPDATE | DELETE
    resource: ResourceType
    namespace: str
    name: str
    obj: Optional[dict]
    old: Optional[dict]
    user: UserInfo
    dry_run: bool = False
    subresource: str = ""
    namespace_object: Optional[dict] = None
    lookup: Optional[Callable[[str, str, str, str], Optional[dict]]] = None   # (api_version, plural, ns, name)


class AdmissionDenied(Exception):
    """Refuse a request; the API answers `code` with a Kubernetes Status whose message is `message`
    (403 reason Forbidden for policy refusals, 422 reason Invalid for bad objects)."""

    def __init__(self, message, code=403, reason="Forbidden"):
        super().__init__(message)
        self.message, self.code, self.reason = message, code, reason


class Admission(Protocol):
    """Mutating plugins run first (in order), validating ones after; both through admit()."""
    name: str
    mutating: bool

    def admit(self, request: AdmissionRequest) -> None:
        """Mutate request.obj in place, or raise AdmissionDenied."""


# ---- the store, as controllers, the kubelet and extensions use it (in-process) -----------------------------
@dataclass
class WatchEvent:
    type: str                         # ADDED | MODIFIED | DELETED
    object: dict


class Store(Protocol):
    """The API's objects. Writes go through the same validation, defaulting, admission and resourceVersion rules
    as HTTP writes (as `user`); a stale resourceVersion raises Conflict. Reads return deep copies."""

    def get(self, api_version: str, plural: str, namespace: str, name: str) -> Optional[dict]: ...

    def list(self, api_version: str, plural: str, namespace: str = "", label_selector: str = "",
             field_selector: str = "") -> list: ...

    def create(self, obj: dict, user: UserInfo) -> dict: ...

    def update(self, obj: dict, user: UserInfo, subresource: str = "") -> dict: ...

    def delete(self, api_version: str, plural: str, namespace: str, name: str, user: UserInfo) -> None: ...

    def watch(self, api_version: str, plural: str, namespace: str = "",
              resource_version: str = "") -> Iterable[WatchEvent]:
        """Blocking iterator of events after resource_version ("" = from now); ends when the store stops."""


class Conflict(Exception):
    """409: the object was modified (stale resourceVersion) or already exists."""


# ---- extensions (flavours) ---------------------------------------------------------------------------------
@dataclass
class HttpReply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


class ClusterExtension(Protocol):
    """A flavour adds resource types, admission plugins, non-resource HTTP paths and background loops."""
    name: str

    def resources(self) -> list:                              # [ResourceType]
        ...

    def admissions(self) -> list:                             # [Admission]
        ...

    def http_paths(self) -> dict:                             # {"/.well-known/openid-configuration": fn(query) -> HttpReply}
        ...

    def start(self, cluster: "ClusterContext") -> None:       # e.g. the Route controller driving HAProxy
        ...

    def stop(self) -> None:
        ...

    # Optional (look it up with getattr): what the launcher prints about the extension once started, e.g.
    # {"router": {"http": 41001, "https": 41002, "appsDomain": ...}} for OpenShift's Routes; {} when nothing.
    def report(self) -> dict:
        ...


@dataclass
class ClusterContext:
    """What the running cluster offers its parts."""
    name: str
    flavour: str                      # plain | aks | openshift
    state_dir: str                    # per-cluster folder under the lab dir (PVC folders, keys, kubeconfig)
    api_url: str                      # https://127.0.0.1:PORT as seen from this machine
    api_url_from_pods: str            # the same API as pods reach it (gateway address of the cluster network)
    store: Store
    network: str                      # podman network of the pods
    gateway: str                      # that network's gateway address on this machine
    ca_file: str                      # CA that signed the API's serving certificate (the lab CA)
    tokens: "ServiceAccountTokens"


class ServiceAccountTokens(Protocol):
    """The cluster's service-account token signer (kube-apiserver's --service-account-issuer/-key-file)."""
    issuer: str

    def issue(self, namespace: str, service_account: str, audiences: list, expiration_seconds: int,
              pod: Optional[dict] = None) -> dict:
        """A TokenRequest status: {"token": jwt, "expirationTimestamp": RFC 3339}."""

    def discovery(self) -> dict:      # /.well-known/openid-configuration
        ...

    def jwks(self) -> dict:           # /openid/v1/jwks
        ...


# ---- the kubelet side --------------------------------------------------------------------------------------
class PodResolver(Protocol):
    """What PodRuntime needs from the API to start a pod."""

    def config_map(self, namespace: str, name: str) -> Optional[dict]: ...

    def secret(self, namespace: str, name: str) -> Optional[dict]: ...             # data base64 as stored

    def volume_dir(self, namespace: str, claim: str) -> str: ...                   # host folder of a bound PVC

    def token(self, namespace: str, service_account: str, audience: str, expiration_seconds: int,
              pod: dict) -> str: ...

    def hosts(self, namespace: str) -> dict: ...                                   # {dns name: IP} of Services


class PodRuntime(Protocol):
    """Runs pods as podman containers (one podman pod per Kubernetes Pod, labelled with the cluster's name)."""

    def sync(self, pod: dict, resolver: PodResolver) -> dict:
        """Make the running pod match `pod` (start it if absent; spec is immutable except by replace).
        Returns the pod's status dict (phase, conditions, containerStatuses, podIP, hostIP, startTime)."""

    def delete(self, namespace: str, name: str, grace_seconds: int = 30) -> None: ...

    def statuses(self) -> dict:
        """{(namespace, name): status dict} of every pod it runs, with probes applied (Ready, restarts)."""

    def shutdown(self) -> None:
        """Stop and remove everything this runtime started (by label)."""

    # Optional (the API checks with hasattr): GET pods/NAME/log (kubectl logs) answers with this text.
    def logs(self, namespace: str, name: str, container: str = "", tail_lines: Optional[int] = None,
             previous: bool = False) -> str:
        """A container's output (container "" = the pod's only/first container); LookupError if there is none."""


class ServiceNetwork(Protocol):
    """Makes Services reachable: a ClusterIP-like address per Service from pods, and a port on 127.0.0.1 from
    this machine, both forwarding to the Ready endpoints."""

    def sync(self, service: dict, endpoints: list) -> dict:
        """endpoints: [{"ip": pod IP, "ports": {name or number: port}}]. Returns
        {"clusterIP": ..., "hostPorts": {service port: 127.0.0.1 port}}."""

    def delete(self, namespace: str, name: str) -> None: ...

    def shutdown(self) -> None: ...
