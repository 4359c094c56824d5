"""SecurityContextConstraints admission (OpenShift 4.11+), as a pure function over dicts.

For a pod, OpenShift tries every SCC the requesting user or the pod's service account may use, in order (priority,
then most restrictive first, then name), and admits the pod with the first that validates it after defaulting
the pod from it. None validates -> 403 with every provider's reasons:

    pods "web" is forbidden: unable to validate against any security context constraint: [provider "anyuid":
    Forbidden: not usable by user or serviceaccount, provider restricted-v2: .containers[0].runAsUser: Invalid
    value: 0: must be in the ranges: [1000000000, 1000009999], provider "privileged": Forbidden: not usable by
    user or serviceaccount]

Who may use which SCC: OpenShift grants `use` through RBAC; the lab reads the SCC's own users/groups fields
(restricted-v2 -> system:authenticated; privileged and anyuid -> cluster admins), which is also what
`oc adm policy add-scc-to-user` wrote on older releases. The strategies implemented are the ones the three SCCs
use: runAsUser MustRunAsRange | RunAsAny, fsGroup MustRunAs | RunAsAny, SELinux MustRunAs (level from the
namespace), supplementalGroups RunAsAny, capabilities (allowed, required drop), host namespaces/ports, volumes,
privilege escalation, seccomp.
"""
import copy

from lab.kube.contracts import AdmissionDenied
from lab.kube.flavours import namespaces

API_VERSION = "security.openshift.io/v1"
SCC_ANNOTATION = "openshift.io/scc"
ADMINS = ["system:cluster-admins", "system:masters"]
# Pods that controllers create (Deployment -> ReplicaSet -> Pod) are judged by the pod's service account alone:
# on OpenShift the controllers create them with their own service accounts, which hold no SCC of their own.
CONTROLLER_USERS = ("system:kube-controller-manager",)
CONTROLLER_PREFIX = "system:serviceaccount:kube-system:"
RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"]


def _scc(name, priority, **fields):
    body = {"apiVersion": API_VERSION, "kind": "SecurityContextConstraints",
            "metadata": {"name": name, "annotations": {"kubernetes.io/description": fields.pop("description")}},
            "priority": priority, "allowHostDirVolumePlugin": False, "allowHostIPC": False,
            "allowHostNetwork": False, "allowHostPID": False, "allowHostPorts": False,
            "allowPrivilegeEscalation": False, "allowPrivilegedContainer": False, "allowedCapabilities": None,
            "defaultAddCapabilities": None, "requiredDropCapabilities": None, "readOnlyRootFilesystem": False,
            "fsGroup": {"type": "MustRunAs"}, "runAsUser": {"type": "MustRunAsRange"},
            "seLinuxContext": {"type": "MustRunAs"}, "supplementalGroups": {"type": "RunAsAny"},
            "seccompProfiles": None, "users": [], "groups": [], "volumes": RESTRICTED_VOLUMES}
    body.update(fields)
    return body


# The three SCCs a fresh OpenShift 4.11+ cluster uses for workloads (read-only in the lab).
DEFAULTS = [
    _scc("restricted-v2", None, groups=["system:authenticated"], allowedCapabilities=["NET_BIND_SERVICE"],
         requiredDropCapabilities=["ALL"], seccompProfiles=["runtime/default"],
         description="restricted-v2 denies access to all host features and requires pods to be run with a UID, "
                     "and SELinux context that are allocated to the namespace."),
    _scc("anyuid", 10, groups=list(ADMINS), allowPrivilegeEscalation=True, requiredDropCapabilities=["MKNOD"],
         runAsUser={"type": "RunAsAny"}, fsGroup={"type": "RunAsAny"},
         description="anyuid provides all features of the restricted SCC but allows users to run with any UID "
                     "and any GID."),
    _scc("privileged", None, users=["system:admin"], groups=list(ADMINS) + ["system:nodes"],
         allowHostDirVolumePlugin=True, allowHostIPC=True, allowHostNetwork=True, allowHostPID=True,
         allowHostPorts=True, allowPrivilegeEscalation=True, allowPrivilegedContainer=True,
         allowedCapabilities=["*"], runAsUser={"type": "RunAsAny"}, fsGroup={"type": "RunAsAny"},
         seLinuxContext={"type": "RunAsAny"}, seccompProfiles=["*"], volumes=["*"],
         description="privileged allows access to all privileged and host features and the ability to run as "
                     "any user, any group, any fsGroup, and with any SELinux context."),
]


def usable(scc, user, groups, service_account):
    """Does the SCC name the requesting user, one of its groups, or the pod's service account (or its groups)?"""
    namespace = service_account.split(":")[2] if service_account.count(":") == 3 else ""
    names = {user, service_account}
    all_groups = set(groups) | {"system:authenticated"} | (
        {"system:serviceaccounts", f"system:serviceaccounts:{namespace}"} if namespace else set())
    return bool(names & set(scc.get("users") or []) or all_groups & set(scc.get("groups") or []))


def _restrictiveness(scc):
    """Lower is more restrictive: OpenShift's ordering counts what each SCC lets a pod do."""
    points = sum(bool(scc.get(key)) for key in ("allowPrivilegedContainer", "allowHostDirVolumePlugin",
                                                  "allowHostNetwork", "allowHostPID", "allowHostIPC",
                                                  "allowHostPorts", "allowPrivilegeEscalation"))
    points += 4 * (scc["runAsUser"]["type"] == "RunAsAny") + 2 * (scc["fsGroup"]["type"] == "RunAsAny")
    return points + len(scc.get("allowedCapabilities") or [])


def ordered(sccs):
    return sorted(sccs, key=lambda s: (-(s.get("priority") or 0), _restrictiveness(s), s["metadata"]["name"]))


def _field(path, value, detail):
    shown = f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else value
    return f"{path}: Invalid value: {shown}: {detail}"


class _Range:
    def __init__(self, annotation_value, what):
        self.bounds = namespaces.parse_range(annotation_value or "")
        self.what = what

    def missing(self, path, namespace):
        return f"{path}: Invalid value: \"\": unable to find annotation {self.what} on namespace {namespace}"

    def text(self):
        return f"[{self.bounds[0]}, {self.bounds[1]}]"

    def holds(self, value):
        return self.bounds[0] <= value <= self.bounds[1]


class _Check:
    """One SCC applied to one pod: default the copy, collect the errors."""

    def __init__(self, scc, pod, namespace_object):
        self.scc, self.pod, self.errors = scc, pod, []
        meta = (namespace_object or {}).get("metadata") or {}
        self.ns_name, annotations = meta.get("name", ""), meta.get("annotations") or {}
        self.uids = _Range(annotations.get(namespaces.UID_RANGE), namespaces.UID_RANGE)
        groups = annotations.get(namespaces.SUPPLEMENTAL_GROUPS) or annotations.get(namespaces.UID_RANGE)
        self.groups = _Range(groups, namespaces.SUPPLEMENTAL_GROUPS)
        self.mcs = annotations.get(namespaces.MCS, "")

    def run(self):
        spec = self.pod.setdefault("spec", {})
        pod_sc = spec.setdefault("securityContext", {})
        self.pod_level(spec, pod_sc)
        for key, label in (("initContainers", "initContainers"), ("containers", "containers")):
            for index, container in enumerate(spec.get(key) or []):
                self.container(f".{label}[{index}]", container, pod_sc)
        return self.errors

    def pod_level(self, spec, pod_sc):
        scc = self.scc
        for key, flag, words in (("hostNetwork", "allowHostNetwork", "Host network"),
                                 ("hostPID", "allowHostPID", "Host PID"), ("hostIPC", "allowHostIPC", "Host IPC")):
            if spec.get(key) and not scc.get(flag):
                self.errors.append(_field(f".spec.securityContext.{key}", True, f"{words} is not allowed to be used"))
        allowed = set(scc.get("volumes") or [])
        for index, volume in enumerate(spec.get("volumes") or []):
            kind = next((k for k in volume if k != "name"), "emptyDir")
            if "*" not in allowed and kind not in allowed and not (kind == "hostPath" and scc.get(
                    "allowHostDirVolumePlugin")):
                self.errors.append(_field(f"spec.volumes[{index}]", kind, f"{kind} volumes are not allowed to be used"))
        if scc["fsGroup"]["type"] == "MustRunAs":
            self.must_run_as_group(pod_sc)
        if scc["seLinuxContext"]["type"] == "MustRunAs" and self.mcs:
            pod_sc.setdefault("seLinuxOptions", {}).setdefault("level", self.mcs)
        profiles = scc.get("seccompProfiles") or []
        if profiles and "*" not in profiles:
            pod_sc.setdefault("seccompProfile", {"type": "RuntimeDefault"})
            if pod_sc["seccompProfile"].get("type") != "RuntimeDefault":
                self.errors.append(f".spec.securityContext.seccompProfile.type: Forbidden: "
                                   f"{pod_sc['seccompProfile'].get('type')} is not an allowed seccomp profile. "
                                   f"Valid values are {', '.join(profiles)}")
        if "runAsUser" in pod_sc:
            self.check_uid(".spec.securityContext.runAsUser", pod_sc["runAsUser"])

    def must_run_as_group(self, pod_sc):
        if self.groups.bounds is None:
            self.errors.append(self.groups.missing(".spec.securityContext.fsGroup", self.ns_name))
            return
        pod_sc.setdefault("fsGroup", self.groups.bounds[0])
        if not self.groups.holds(pod_sc["fsGroup"]):
            self.errors.append(f".spec.securityContext.fsGroup: Invalid value: []int64{{{pod_sc['fsGroup']}}}: "
                               f"{pod_sc['fsGroup']} is not an allowed group")

    def check_uid(self, path, uid):
        if self.scc["runAsUser"]["type"] != "MustRunAsRange":
            return
        if self.uids.bounds is None:
            self.errors.append(self.uids.missing(path, self.ns_name))
        elif not self.uids.holds(uid):
            self.errors.append(_field(path, uid, f"must be in the ranges: {self.uids.text()}"))

    def container(self, path, container, pod_sc):
        scc, sc = self.scc, container.setdefault("securityContext", {})
        if sc.get("privileged") and not scc.get("allowPrivilegedContainer"):
            self.errors.append(_field(f"{path}.privileged", True, "Privileged containers are not allowed"))
        self.capabilities(path, sc)
        if scc["runAsUser"]["type"] == "MustRunAsRange":
            if "runAsUser" in sc:
                self.check_uid(f"{path}.runAsUser", sc["runAsUser"])
            elif "runAsUser" not in pod_sc and self.uids.bounds is not None:
                sc["runAsUser"] = self.uids.bounds[0]
            elif self.uids.bounds is None:
                self.errors.append(self.uids.missing(f"{path}.runAsUser", self.ns_name))
            if sc.get("runAsUser", pod_sc.get("runAsUser")) is not None:
                sc.setdefault("runAsNonRoot", True)
        if not scc.get("allowPrivilegeEscalation"):
            sc.setdefault("allowPrivilegeEscalation", False)
            if sc["allowPrivilegeEscalation"]:
                self.errors.append(_field(f"{path}.allowPrivilegeEscalation", True,
                                          "Allowing privilege escalation for containers is not allowed"))
        if not scc.get("allowHostPorts"):
            for port in container.get("ports") or []:
                if port.get("hostPort"):
                    self.errors.append(_field(f"{path}.hostPort", port["hostPort"],
                                              "Host ports are not allowed to be used"))

    def capabilities(self, path, sc):
        caps = sc.setdefault("capabilities", {})
        allowed = set(self.scc.get("allowedCapabilities") or [])
        required = self.scc.get("requiredDropCapabilities") or []
        for cap in caps.get("add") or []:
            if "*" not in allowed and cap not in allowed and cap not in (self.scc.get("defaultAddCapabilities") or []):
                self.errors.append(_field(f"{path}.capabilities.add", cap, "capability may not be added"))
            elif cap in required or ("ALL" in required and cap not in allowed):
                self.errors.append(_field(f"{path}.capabilities.add", cap,
                                          "capability is required to be dropped but was found in the add list"))
        drop = list(caps.get("drop") or [])
        caps["drop"] = drop + [cap for cap in required if cap not in drop]
        if not caps["drop"]:
            del caps["drop"]
        if not caps:
            del sc["capabilities"]


def admit_pod(pod, namespace_object, sccs, user, groups):
    """(the pod as admitted, the SCC's name) or AdmissionDenied with OpenShift's message."""
    service_account = "system:serviceaccount:{}:{}".format(
        (namespace_object or {}).get("metadata", {}).get("name", ""),
        (pod.get("spec") or {}).get("serviceAccountName") or "default")
    reasons = []
    for scc in ordered(sccs):
        name = scc["metadata"]["name"]
        if not usable(scc, user, groups, service_account):
            reasons.append(f'provider "{name}": Forbidden: not usable by user or serviceaccount')
            continue
        candidate = copy.deepcopy(pod)
        errors = _Check(scc, candidate, namespace_object).run()
        if not errors:
            candidate.setdefault("metadata", {}).setdefault("annotations", {})[SCC_ANNOTATION] = name
            return candidate, name
        reasons.extend(f"provider {name}: {error}" for error in errors)
    name = (pod.get("metadata") or {}).get("name") or (pod.get("metadata") or {}).get("generateName", "")
    raise AdmissionDenied(f'pods "{name}" is forbidden: unable to validate against any security context '
                          f"constraint: [{', '.join(reasons)}]")


class SccAdmission:
    """admit_pod() on pod CREATE. The SCCs are read from the API (so an edited users list counts), else the
    defaults."""
    name = "security.openshift.io/SecurityContextConstraint"
    mutating = True

    def admit(self, request):
        if request.operation != "CREATE" or request.resource.plural != "pods" or request.subresource \
                or not request.obj:
            return
        sccs = []
        for default in DEFAULTS:
            stored = request.lookup(API_VERSION, "securitycontextconstraints", "", default["metadata"]["name"]) \
                if request.lookup else None
            sccs.append(stored or default)
        user, groups = request.user.name, tuple(request.user.groups)
        if user in CONTROLLER_USERS or user.startswith(CONTROLLER_PREFIX):
            user, groups = "", ("system:authenticated",)
        admitted, _name = admit_pod(request.obj, request.namespace_object, sccs, user, groups)
        request.obj.clear()
        request.obj.update(admitted)
