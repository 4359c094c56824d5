"""Downward API field paths (env fieldRef and downwardAPI volume items), as the kubelet resolves them."""
import re

_KEYED = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


class FieldError(ValueError):
    """A fieldPath the kubelet does not support."""


def field_value(pod, path, pod_ip="", host_ip=""):
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", "default"),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return simple[path]
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{key}="{value}"' for key, value in sorted(items.items()))
    keyed = _KEYED.match(path)
    if keyed:
        return (meta.get(keyed.group(1)) or {}).get(keyed.group(2), "")
    raise FieldError(f"fieldPath {path!r} is not supported (metadata.name/namespace/uid/labels/annotations, "
                     "spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP)")
