"""Built-in admission: the defaulting and validation real clients depend on (kube-apiserver's SetDefaults_*).

Runs before the extensions' plugins, on CREATE and UPDATE of the main resource.
"""
import base64
import ipaddress
import threading

from lab.kube.contracts import AdmissionDenied

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
POD_TEMPLATE_OWNERS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"}


def _pull_policy(image):
    tail = (image or "").rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    return "Always" if ":" not in tail or tail.endswith(":latest") else "IfNotPresent"


def default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    if spec.get("serviceAccountName") or spec.get("serviceAccount"):
        spec.setdefault("serviceAccountName", spec.get("serviceAccount"))
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
    for kind in ("initContainers", "containers"):
        for container in spec.get(kind) or []:
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("imagePullPolicy", _pull_policy(container.get("image")))
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                port.setdefault("protocol", "TCP")
    for volume in spec.get("volumes") or []:
        for source, mode in (("secret", "defaultMode"), ("configMap", "defaultMode"), ("projected", "defaultMode")):
            if source in volume:
                volume[source].setdefault(mode, 420)


class BuiltinDefaults:
    """Mutating admission with kube-apiserver's defaults, plus the validation that keeps controllers sane."""
    name = "BuiltinDefaults"
    mutating = True

    def __init__(self, service_ips=None):
        self._lock = threading.Lock()
        self._next_ip = 10
        self._service_ips = list(service_ips or [])     # the node's Service range when pods really run
        self._next_node_port = 30000

    def admit(self, request):
        if request.operation not in ("CREATE", "UPDATE") or request.obj is None:
            return
        obj, kind = request.obj, request.resource.kind
        handler = getattr(self, f"_{kind.lower()}", None)
        if kind in POD_TEMPLATE_OWNERS:
            self._template_owner(request)
        if handler is not None:
            handler(request)

    @staticmethod
    def _pod(request):
        spec = request.obj.setdefault("spec", {})
        if not spec.get("containers"):
            raise AdmissionDenied("spec.containers: Required value", 422, "Invalid")
        spec.setdefault("serviceAccountName", "default")
        default_pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
        request.obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})

    @staticmethod
    def _template_owner(request):
        obj, kind = request.obj, request.resource.kind
        spec = obj.setdefault("spec", {})
        template = spec.setdefault("template", {})
        template.setdefault("metadata", {})
        if kind == "Job" and template.get("spec", {}).get("restartPolicy") not in ("OnFailure", "Never"):
            raise AdmissionDenied('spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", '
                                  '"Never"', 422, "Invalid")
        default_pod_spec(template.setdefault("spec", {}))
        if kind == "Job":
            uid = obj["metadata"]["uid"]
            labels = template["metadata"].setdefault("labels", {})
            if request.operation == "CREATE" and not spec.get("manualSelector"):
                labels.setdefault("batch.kubernetes.io/controller-uid", uid)
                labels.setdefault("batch.kubernetes.io/job-name", obj["metadata"]["name"])
                labels.setdefault("controller-uid", uid)
                labels.setdefault("job-name", obj["metadata"]["name"])
                spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
            return
        selector = spec.get("selector")
        if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
            if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
                raise AdmissionDenied("spec.selector: Required value", 422, "Invalid")
            labels = template["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
                raise AdmissionDenied("spec.template.metadata.labels: Invalid value: "
                                      f"{labels}: `selector` does not match template `labels`", 422, "Invalid")

    @staticmethod
    def _deployment(request):
        spec = request.obj["spec"]
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxSurge", "25%")
            rolling.setdefault("maxUnavailable", "25%")

    @staticmethod
    def _replicaset(request):
        request.obj["spec"].setdefault("replicas", 1)

    @staticmethod
    def _statefulset(request):
        spec = request.obj["spec"]
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for claim in spec.get("volumeClaimTemplates") or []:
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")

    @staticmethod
    def _job(request):
        spec = request.obj["spec"]
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)

    def _service(self, request):
        spec = request.obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        old_ip = (request.old or {}).get("spec", {}).get("clusterIP")
        if old_ip and spec.get("clusterIP") in (None, "", old_ip):
            spec["clusterIP"] = old_ip
        elif spec.get("clusterIP") in (None, ""):
            spec["clusterIP"] = self._allocate()
        if spec["clusterIP"] != "None":
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            old_spec = (request.old or {}).get("spec", {})
            old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
            for port in spec.get("ports") or []:
                port.setdefault("nodePort", old_ports.get(port.get("port")) or self._node_port())
        request.obj.setdefault("status", {"loadBalancer": {}})

    def _allocate(self):
        with self._lock:
            if self._service_ips:
                return self._service_ips.pop(0)
            self._next_ip += 1
            return str(SERVICE_CIDR[self._next_ip])

    def _node_port(self):
        with self._lock:
            self._next_node_port += 1
            return self._next_node_port

    @staticmethod
    def _secret(request):
        obj = request.obj
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {}) or {}
            obj["data"] = data
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode("ascii")

    @staticmethod
    def _namespace(request):
        obj = request.obj
        obj.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = \
            obj["metadata"]["name"]
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})

    @staticmethod
    def _persistentvolumeclaim(request):
        spec = request.obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        spec.setdefault("storageClassName", "standard")
        request.obj.setdefault("status", {"phase": "Pending"})
