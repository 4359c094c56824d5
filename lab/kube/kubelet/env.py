"""A container's environment (envFrom, then env with valueFrom) and $(VAR) expansion, with the kubelet's errors."""
import base64
import re

from lab.kube.kubelet.fields import FieldError, field_value
from lab.kube.kubelet.quantity import parse_cpu, parse_memory

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """The kubelet's CreateContainerConfigError: a referenced ConfigMap, Secret or key is missing."""


def expand(text, env):
    """Kubernetes $(VAR) expansion: known names are replaced, unknown ones kept, $$ escapes a dollar."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))
    return _REFERENCE.sub(replace, text)


def _source_data(resolver, namespace, kind, name):
    if kind == "configmap":
        found = resolver.config_map(namespace, name)
        return None if found is None else dict(found.get("data") or {})
    found = resolver.secret(namespace, name)
    if found is None:
        return None
    data = {key: base64.b64decode(value).decode() for key, value in (found.get("data") or {}).items()}
    data.update(found.get("stringData") or {})
    return data


def _key_ref(resolver, namespace, kind, ref):
    data = _source_data(resolver, namespace, kind, ref.get("name", ""))
    if data is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'{kind} "{ref.get("name")}" not found')
    if ref["key"] not in data:
        if ref.get("optional"):
            return None
        label = "ConfigMap" if kind == "configmap" else "Secret"
        raise ConfigError(f"couldn't find key {ref['key']} in {label} {namespace}/{ref.get('name')}")
    return data[ref["key"]]


def _resource_field(container, ref):
    resource = ref["resource"]
    kind, name = resource.split(".", 1)
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is None:
        return "0"
    divisor = ref.get("divisor", "1")
    if name == "memory":
        return str(-(-parse_memory(value) // parse_memory(divisor)))
    return str(int(-(-parse_cpu(value) // parse_cpu(divisor))))


def container_env(container, pod, resolver, pod_ip, host_ip):
    """[(name, value)] in Kubernetes order; raises ConfigError like the kubelet's CreateContainerConfigError."""
    namespace = pod["metadata"].get("namespace", "default")
    env = {}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            kind, ref = "configmap", source["configMapRef"]
        else:
            kind, ref = "secret", source["secretRef"]
        data = _source_data(resolver, namespace, kind, ref.get("name", ""))
        if data is None:
            if ref.get("optional"):
                continue
            raise ConfigError(f'{kind} "{ref.get("name")}" not found')
        for key, value in data.items():
            env[source.get("prefix", "") + key] = value
    for item in container.get("env") or []:
        if "valueFrom" not in item:
            env[item["name"]] = expand(item.get("value", ""), env)
            continue
        source = item["valueFrom"]
        try:
            if "configMapKeyRef" in source:
                value = _key_ref(resolver, namespace, "configmap", source["configMapKeyRef"])
            elif "secretKeyRef" in source:
                value = _key_ref(resolver, namespace, "secret", source["secretKeyRef"])
            elif "fieldRef" in source:
                value = field_value(pod, source["fieldRef"]["fieldPath"], pod_ip, host_ip)
            elif "resourceFieldRef" in source:
                value = _resource_field(container, source["resourceFieldRef"])
            else:
                raise ConfigError(f"env {item['name']}: valueFrom {sorted(source)} is not supported")
        except FieldError as exc:
            raise ConfigError(f"env {item['name']}: {exc}") from exc
        if value is not None:
            env[item["name"]] = value
    return list(env.items())
