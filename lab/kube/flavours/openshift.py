"""The OpenShift flavour: Routes served by HAProxy, projects, namespace UID ranges and restricted-v2 SCC admission.

    resources   route.openshift.io/v1 Route, project.openshift.io/v1 Project and ProjectRequest,
                security.openshift.io/v1 SecurityContextConstraints (restricted-v2, anyuid, privileged; seeded
                at start, read by the SCC admission on every pod)
    admission   namespace security allocation, ProjectRequest/Project -> Namespace, Route defaulting and
                validation, the Azure workload identity webhook (see below), SCC on pods
    start()     the router (router.Router) on 127.0.0.1 ports, and the Project mirror of Namespaces
    report()    {"router": {"http", "https", "appsDomain", "defaultCertificate"}, "workloadIdentity": {...}} for the
                launcher to print (also written to <state>/flavour.json when started)

Workload identity (option workload_identity): "arc" (default) installs the webhook AKS has (pod_identity.py) while
the Azure Arc connected cluster backed by this cluster is Connected with workload identity on (arc_gate.py asks the
lab's ARM), as Arc's agents install and remove it; "on" always; "off" never. Entra is offered on the cluster gateway
when the webhook first mutates a pod (workload_identity_relay "on-use"); False: something else already offers it (the
hybrid world's site link).

Not emulated: OpenShift's RBAC for projects (self-provisioner), project templates, and Routes' alternateBackends.
"""
import os
import re

from lab.ca import LabCA
from lab.kube.contracts import AdmissionDenied, Conflict, ResourceType, UserInfo
from lab.kube.flavours import haproxy_config, namespaces, routes, scc, write_report
from lab.kube.flavours.arc_gate import ArcWorkloadIdentityGate
from lab.kube.flavours.pod_identity import PodWorkloadIdentity, lab_dir_of
from lab.kube.flavours.router import Every, Router
from lab.proc import free_port

PROJECT = ResourceType("project.openshift.io", "v1", "Project", "projects", namespaced=False)
PROJECT_REQUEST = ResourceType("project.openshift.io", "v1", "ProjectRequest", "projectrequests",
                               namespaced=False, verbs=("create", "list"))
SCC = ResourceType("security.openshift.io", "v1", "SecurityContextConstraints", "securitycontextconstraints",
                   namespaced=False, short_names=("scc",), verbs=("get", "list", "watch"))
SYSTEM = UserInfo("system:openshift-controller-manager", ("system:masters", "system:authenticated"))
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def project_of(namespace):
    """The Project view of a Namespace (OpenShift serves projects as a projection of namespaces)."""
    meta = namespace["metadata"]
    keep = {k: meta[k] for k in ("name", "labels", "annotations") if meta.get(k)}
    return {"apiVersion": "project.openshift.io/v1", "kind": "Project", "metadata": keep,
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


class ProjectAdmission:
    """ProjectRequest and Project CREATE make the Namespace (synchronously, so the next call can use it);
    Project DELETE deletes it. Dry runs change nothing."""
    name = "project.openshift.io/ProjectRequest"
    mutating = True

    def __init__(self, extension):
        self.extension = extension

    def admit(self, request):
        plural = request.resource.plural
        if plural not in ("projects", "projectrequests") or request.subresource:
            return
        store = self.extension.store
        if request.operation == "DELETE" and plural == "projects":
            namespace = store.get("v1", "namespaces", "", request.name) if store else None
            if not request.dry_run and namespace and not namespace["metadata"].get("deletionTimestamp"):
                store.delete("v1", "namespaces", "", request.name, SYSTEM)
            return
        if request.operation != "CREATE":
            return
        if not DNS_LABEL.match(request.name) or len(request.name) > 63:
            raise AdmissionDenied(f'{plural}.project.openshift.io "{request.name}" is invalid: metadata.name: '
                                  f'Invalid value: "{request.name}": a lowercase RFC 1123 label must consist of lower '
                                  "case alphanumeric characters or '-', and must start and end with an alphanumeric "
                                  "character", code=422, reason="Invalid")
        if store is None:
            raise AdmissionDenied("the OpenShift flavour has not started yet", code=503, reason="ServiceUnavailable")
        exists = store.get("v1", "namespaces", "", request.name) is not None
        if plural == "projectrequests":
            if exists:
                raise AdmissionDenied(f'project.project.openshift.io "{request.name}" already exists', code=409,
                                      reason="AlreadyExists")
            annotations = {"openshift.io/requester": request.user.name,
                           "openshift.io/display-name": request.obj.get("displayName", ""),
                           "openshift.io/description": request.obj.get("description", "")}
            namespace = {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": request.name, "annotations": annotations}}
        else:
            meta = request.obj.get("metadata") or {}
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": request.name, **{k: meta[k] for k in ("labels", "annotations") if meta.get(k)}}}
            request.obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            request.obj["status"] = {"phase": "Active"}
        if request.dry_run or exists:
            return
        created = store.create(namespace, SYSTEM)
        if plural == "projectrequests":
            self.extension.mirror_one(created)


class OpenShiftExtension:
    name = "openshift"

    def __init__(self, apps_domain=None, http_port=None, https_port=None, sync_interval=0.5, workload_identity="arc",
                 workload_identity_relay="on-use"):
        self._apps_domain, self.http_port, self.https_port = apps_domain, http_port, https_port
        self.sync_interval = sync_interval
        if workload_identity not in ("arc", "on", "off"):
            raise ValueError(f"workload_identity {workload_identity!r}: use arc, on or off")
        self.workload_identity_mode, self.arc_gate = workload_identity, None
        self.identity = None if workload_identity == "off" else PodWorkloadIdentity(
            relay=workload_identity_relay, enabled=None if workload_identity == "on" else self._arc_workload_identity)
        self.store = None
        self.cluster = None
        self.router = None
        self._mirror = None
        self.allocator = namespaces.Allocator(self._namespaces)

    @property
    def apps_domain(self):
        if self._apps_domain:
            return self._apps_domain
        return f"apps.{self.cluster.name}.medimaging.lab" if self.cluster else "apps.medimaging.lab"

    def _namespaces(self):
        return self.store.list("v1", "namespaces") if self.store else []

    # ---- ClusterExtension -------------------------------------------------------------------------------
    def resources(self):
        return [routes.ROUTE, PROJECT, PROJECT_REQUEST, SCC]

    def admissions(self):
        identity = self.identity.admissions() if self.identity else []
        return [namespaces.NamespaceSecurityAllocation(self.allocator), ProjectAdmission(self),
                routes.RouteAdmission(lambda: self.apps_domain), *identity, scc.SccAdmission()]

    def http_paths(self):
        return {}

    def start(self, cluster):
        self.cluster, self.store = cluster, cluster.store
        for body in scc.DEFAULTS:
            try:
                cluster.store.create(body, SYSTEM)
            except Conflict:
                pass
        for namespace in self._namespaces():       # namespaces made before the flavour started
            if namespaces.UID_RANGE not in (namespace["metadata"].get("annotations") or {}):
                self.allocator.annotate(namespace)
                cluster.store.update(namespace, SYSTEM)
        self.mirror()
        self.http_port = self.http_port or free_port()
        self.https_port = self.https_port or free_port()
        directory = os.path.join(cluster.state_dir, "router")
        os.makedirs(directory, exist_ok=True)
        paths = haproxy_config.RouterPaths(self.http_port, self.https_port, directory,
                                           self._default_certificate(cluster, directory), cluster.ca_file)
        self.router = Router(cluster.store, paths, self.apps_domain, interval=self.sync_interval)
        self.router.start()
        if self.identity:
            self.identity.start(cluster, report=False)
            if self.workload_identity_mode == "arc":
                self.arc_gate = self._gate_for(cluster)
        write_report(cluster.state_dir, self.report())
        self._mirror = Every("openshift-projects", self.sync_interval, self.mirror).start()

    def stop(self):
        if self._mirror:
            self._mirror.stop()
        if self.router:
            self.router.stop()
        if self.identity:
            self.identity.stop()

    def report(self):
        if not self.router:
            return {}
        report = {"router": {"http": self.http_port, "https": self.https_port, "appsDomain": self.apps_domain,
                             "defaultCertificate": self.router.paths.default_pem}}
        if self.identity:
            report.update(self.identity.report())
            report["workloadIdentity"]["mode"] = self.workload_identity_mode   # arc, on
        return report

    # ---- workload identity (Arc) ------------------------------------------------------------------------
    @staticmethod
    def _gate_for(cluster):
        from lab.cli import Lab, LabError   # late: lab.cli pulls in the whole launcher
        if not os.path.exists(os.path.join(lab_dir_of(cluster), "lab.json")):
            return None
        try:
            return ArcWorkloadIdentityGate(Lab(lab_dir_of(cluster)).env(), cluster.name)
        except (LabError, OSError, KeyError):
            return None                      # no lab, no Azure: no connected cluster turns the webhook on

    def _arc_workload_identity(self):
        if not (self.arc_gate and self.arc_gate()):
            return False
        self.identity.ensure_relay()         # Entra for the pods, now that one will call it
        return True

    # ---- parts ------------------------------------------------------------------------------------------
    def _default_certificate(self, cluster, directory):
        """*.<apps domain> signed by the lab CA (the CA's key sits beside ca_file), as the ingress default cert."""
        return haproxy_config.default_certificate(LabCA(os.path.dirname(cluster.ca_file)),
                                                  f"kube-{cluster.name}-router", self.apps_domain, directory)

    def mirror_one(self, namespace):
        try:
            self.store.create(project_of(namespace), SYSTEM)
        except Conflict:
            pass

    def mirror(self):
        """Projects follow Namespaces: one per Namespace, none for a Namespace that is gone."""
        names = set()
        for namespace in self._namespaces():
            if namespace["metadata"].get("deletionTimestamp"):
                continue
            names.add(namespace["metadata"]["name"])
            if not self.store.get(PROJECT.api_version, "projects", "", namespace["metadata"]["name"]):
                self.mirror_one(namespace)
        for project in self.store.list(PROJECT.api_version, "projects"):
            if project["metadata"]["name"] not in names:
                self.store.delete(PROJECT.api_version, "projects", "", project["metadata"]["name"], SYSTEM)
        for request in self.store.list(PROJECT_REQUEST.api_version, "projectrequests"):
            self.store.delete(PROJECT_REQUEST.api_version, "projectrequests", "", request["metadata"]["name"], SYSTEM)
