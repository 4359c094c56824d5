"""Non-resource documents: /version, legacy discovery (/api, /apis), OpenAPI v2/v3 stubs good enough for helm 4
and kubectl 1.37 (they fall back to their built-in schemas for merge keys when a document names no schema)."""
import hashlib
import json

KUBE_VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.0", "gitCommit": "0" * 40,
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25",
                "compiler": "gc", "platform": "linux/amd64"}
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# Every write accepts these (kubectl checks for fieldValidation to validate on the server instead of itself).
# what `kubectl get all` lists
ALL_CATEGORY = {"pods", "services", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs",
                "replicationcontrollers", "horizontalpodautoscalers"}
WRITE_PARAMETERS = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                    for n in ("dryRun", "fieldManager", "fieldValidation")]


def _preferred(versions):
    return {"groupVersion": versions[0], "version": versions[0].rsplit("/", 1)[-1]}


def api_versions():
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_group(group, versions):
    gvs = [f"{group}/{v}" for v in versions]
    return {"name": group, "versions": [{"groupVersion": gv, "version": gv.rsplit("/", 1)[-1]} for gv in gvs],
            "preferredVersion": _preferred(gvs)}


def api_group_list(registry):
    groups = [api_group(g, v) for g, v in sorted(registry.groups().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(registry, group, version):
    resources = []
    for rtype in sorted(registry.all(), key=lambda t: t.plural):
        if rtype.group != group or rtype.version != version:
            continue
        resources.append({"name": rtype.plural, "singularName": rtype.kind.lower(), "namespaced": rtype.namespaced,
                          "kind": rtype.kind, "verbs": list(rtype.verbs), "shortNames": list(rtype.short_names),
                          "storageVersionHash": hashlib.sha256(rtype.kind.encode()).hexdigest()[:12]})
        if rtype.plural in ALL_CATEGORY and rtype.group in ("", "apps", "batch", "autoscaling"):
            resources[-1]["categories"] = ["all"]
        for sub in rtype.subresources:
            kind, verbs = {"scale": ("Scale", ["get", "patch", "update"]),
                           "token": ("TokenRequest", ["create"]), "eviction": ("Eviction", ["create"]),
                           "log": ("Pod", ["get"])}.get(sub, (rtype.kind, ["get", "patch", "update"]))
            entry = {"name": f"{rtype.plural}/{sub}", "singularName": "", "namespaced": rtype.namespaced,
                     "kind": kind, "verbs": verbs}
            if sub == "scale":
                entry.update(group="autoscaling", version="v1")
            if sub == "token":
                entry.update(group="authentication.k8s.io", version="v1")
            resources.append(entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def openapi_v2_json():
    return {"swagger": "2.0", "info": {"title": "Kubernetes (lab)", "version": KUBE_VERSION["gitVersion"]},
            "paths": {}, "definitions": {}}


def _v3_path(group, version):
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def openapi_v3_root(registry):
    paths = {}
    for group, versions in registry.groups().items():
        for version in versions:
            path = _v3_path(group, version)
            digest = hashlib.sha256(json.dumps(resource_list(registry, group, version), sort_keys=True).encode())
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest.hexdigest()[:32].upper()}"}
    return {"paths": paths}


def openapi_v3_document(registry, path):
    """A document per group-version: the resource paths with their write parameters, no schemas."""
    for group, versions in registry.groups().items():
        for version in versions:
            if _v3_path(group, version) != path:
                continue
            prefix = "/" + path
            paths = {}
            for rtype in registry.all():
                if rtype.group != group or rtype.version != version:
                    continue
                scope = f"{prefix}/namespaces/{{namespace}}/{rtype.plural}" if rtype.namespaced \
                    else f"{prefix}/{rtype.plural}"
                gvk = {"group": group, "version": version, "kind": rtype.kind}
                for target, verbs in ((scope, ("post",)), (scope + "/{name}", ("put", "patch"))):
                    paths[target] = {verb: {"parameters": WRITE_PARAMETERS, "x-kubernetes-group-version-kind": gvk,
                                            "responses": {"200": {"description": "OK"}}} for verb in verbs}
            return {"openapi": "3.0.0", "info": {"title": "Kubernetes (lab)", "version": "v1.37.0"},
                    "paths": paths, "components": {"schemas": {}}}
    return None
