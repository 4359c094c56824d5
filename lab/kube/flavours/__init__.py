"""Cluster flavours: what an AKS or an OpenShift cluster adds to plain Kubernetes, as ClusterExtensions.

    load("plain") -> []
    load("aks", tenant_id=..., authority_host=...)  -> [AksExtension]        (workload identity webhook)
    load("openshift", apps_domain=...)              -> [OpenShiftExtension]  (Routes on HAProxy, projects, SCC)

Options are keyword arguments of the flavour's extension (each has defaults that work for tests). A started
extension writes its report() to <cluster state>/flavour.json (ports, domains), for launchers in another process.
"""
import importlib
import json
import os

FLAVOURS = {"plain": None, "aks": ("lab.kube.flavours.aks", "AksExtension"),
            "openshift": ("lab.kube.flavours.openshift", "OpenShiftExtension")}


def load(name, **options):
    if name not in FLAVOURS:
        raise ValueError(f"unknown cluster flavour {name!r}: choose one of {', '.join(FLAVOURS)}")
    if FLAVOURS[name] is None:
        return []
    module, cls = FLAVOURS[name]
    return [getattr(importlib.import_module(module), cls)(**options)]


def write_report(state_dir, report):
    """<state>/flavour.json: what an extension's report() says once it has started."""
    with open(os.path.join(state_dir, "flavour.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
