"""meta.k8s.io/v1 Table answers, so `kubectl get` prints the columns people expect (READY, STATUS, AGE...)."""
import datetime

NAME = {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}


def _column(name, kind="string"):
    return {"name": name, "type": kind, "format": "", "description": name, "priority": 0}


def age(stamp):
    if not stamp:
        return "<unknown>"
    born = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    seconds = int((datetime.datetime.now(datetime.timezone.utc) - born).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if seconds < 600:
        return f"{seconds // 60}m{seconds % 60}s"
    if seconds < 3 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _pod(obj):
    status = obj.get("status", {})
    containers = status.get("containerStatuses") or []
    reason = status.get("reason") or status.get("phase", "Pending")
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        terminated = (container.get("state") or {}).get("terminated") or {}
        reason = waiting.get("reason") or terminated.get("reason") or reason
    if obj["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    ready = sum(1 for c in containers if c.get("ready"))
    return [f"{ready}/{len(obj['spec'].get('containers', []))}", reason,
            sum(c.get("restartCount", 0) for c in containers)]


def _replicas(obj):
    status = obj.get("status", {})
    return [f"{status.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 1)}"]


def _service(obj):
    spec = obj.get("spec", {})
    ingress = (obj.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or \
        ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    ports = ",".join(f"{p['port']}{(':' + str(p['nodePort'])) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
                     for p in spec.get("ports") or []) or "<none>"
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP", ""), external, ports]


COLUMNS = {
    "Pod": (("Ready", "Status", "Restarts"), _pod),
    "Deployment": (("Ready", "Up-to-date", "Available"), lambda o: _replicas(o) + [
        o.get("status", {}).get("updatedReplicas", 0), o.get("status", {}).get("availableReplicas", 0)]),
    "StatefulSet": (("Ready",), _replicas),
    "ReplicaSet": (("Desired", "Current", "Ready"), lambda o: [
        o["spec"].get("replicas", 1), o.get("status", {}).get("replicas", 0),
        o.get("status", {}).get("readyReplicas", 0)]),
    "Service": (("Type", "Cluster-IP", "External-IP", "Port(s)"), _service),
    "Namespace": (("Status",), lambda o: [o.get("status", {}).get("phase", "Active")]),
    "Job": (("Status", "Completions"), lambda o: [
        next((c["type"] for c in o.get("status", {}).get("conditions") or [] if c["type"] in ("Complete", "Failed")),
             "Running"), f"{o.get('status', {}).get('succeeded', 0)}/{o['spec'].get('completions', 1)}"]),
    "PersistentVolumeClaim": (("Status", "Volume", "Capacity"), lambda o: [
        o.get("status", {}).get("phase", "Pending"), o["spec"].get("volumeName", ""),
        o.get("status", {}).get("capacity", {}).get("storage", "")]),
    "Node": (("Status", "Version"), lambda o: ["Ready", o.get("status", {}).get("nodeInfo", {}).get(
        "kubeletVersion", "")]),
}


def _row_object(obj, include):
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(kind, objects, resource_version, include="PartialObjectMetadata"):
    names, cells = COLUMNS.get(kind, ((), lambda o: []))
    columns = [NAME] + [_column(n) for n in names] + [_column("Age")]
    rows = []
    for obj in objects:
        row = {"cells": [obj["metadata"]["name"], *cells(obj), age(obj["metadata"].get("creationTimestamp"))]}
        included = _row_object(obj, include)
        if included is not None:
            row["object"] = included
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns, "rows": rows}


def wants_table(accept):
    return "as=Table" in (accept or "")
