"""The resource types the API serves out of the box, and the registry that CRDs and flavours add to."""
import threading

from lab.kube.contracts import ResourceType

_STATUS = ("status",)
_SCALE = ("status", "scale")
_CREATE_ONLY = ("create",)


def _t(group, version, kind, plural, namespaced=True, short=(), sub=(), verbs=None):
    if verbs is None:
        return ResourceType(group, version, kind, plural, namespaced, tuple(short), tuple(sub))
    return ResourceType(group, version, kind, plural, namespaced, tuple(short), tuple(sub), tuple(verbs))


BUILTIN = (
    _t("", "v1", "Namespace", "namespaces", False, ("ns",), _STATUS),
    _t("", "v1", "Pod", "pods", True, ("po",), ("status", "eviction", "log")),
    _t("", "v1", "Service", "services", True, ("svc",), _STATUS),
    _t("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    _t("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    _t("", "v1", "Secret", "secrets"),
    _t("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",), ("token",)),
    _t("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), _STATUS),
    _t("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), _STATUS),
    _t("", "v1", "Node", "nodes", False, ("no",), _STATUS),
    _t("", "v1", "Event", "events", True, ("ev",)),
    _t("", "v1", "LimitRange", "limitranges", True, ("limits",)),
    _t("", "v1", "ResourceQuota", "resourcequotas", True, ("quota",), _STATUS),
    _t("", "v1", "ReplicationController", "replicationcontrollers", True, ("rc",), _SCALE),
    _t("apps", "v1", "Deployment", "deployments", True, ("deploy",), _SCALE),
    _t("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), _SCALE),
    _t("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), _SCALE),
    _t("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), _STATUS),
    _t("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _t("batch", "v1", "Job", "jobs", True, (), _STATUS),
    _t("batch", "v1", "CronJob", "cronjobs", True, ("cj",), _STATUS),
    _t("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), _STATUS),
    _t("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), _STATUS),
    _t("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _t("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
    _t("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), _STATUS),
    _t("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _t("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _t("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    _t("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
       ("crd", "crds"), _STATUS),
    _t("coordination.k8s.io", "v1", "Lease", "leases"),
    _t("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    _t("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
       verbs=_CREATE_ONLY),
    _t("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
       verbs=_CREATE_ONLY),
)

# Resources that are answered, not stored (reviews).
VIRTUAL = {("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io", "selfsubjectrulesreviews")}


def split_api_version(api_version):
    group, _, version = api_version.rpartition("/")
    return group, version


class Registry:
    """Served resource types by (group, version, plural) and by (group, kind); thread-safe (CRDs add at runtime)."""

    def __init__(self, types=BUILTIN):
        self._lock = threading.Lock()
        self._by_plural = {}
        for rtype in types:
            self.add(rtype)

    def add(self, rtype):
        with self._lock:
            self._by_plural[(rtype.group, rtype.version, rtype.plural)] = rtype

    def remove(self, group, version, plural):
        with self._lock:
            self._by_plural.pop((group, version, plural), None)

    def get(self, group, version, plural):
        with self._lock:
            return self._by_plural.get((group, version, plural))

    def by_api_version(self, api_version, plural):
        return self.get(*split_api_version(api_version), plural)

    def by_kind(self, api_version, kind):
        group, version = split_api_version(api_version)
        with self._lock:
            for rtype in self._by_plural.values():
                if rtype.group == group and rtype.version == version and rtype.kind == kind:
                    return rtype
        return None

    def all(self):
        with self._lock:
            return list(self._by_plural.values())

    def groups(self):
        """{group: [versions]} with the core group "" included."""
        found = {}
        for rtype in self.all():
            versions = found.setdefault(rtype.group, [])
            if rtype.version not in versions:
                versions.append(rtype.version)
        return found
