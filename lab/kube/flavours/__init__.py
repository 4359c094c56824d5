"""Cluster flavours: what an AKS or an OpenShift cluster adds to plain Kubernetes, as ClusterExtensions.

    load("plain") -> []
    load("aks", tenant_id=..., authority_host=...)  -> [AksExtension]        (workload identity webhook)
    load("openshift", apps_domain=...)              -> [OpenShiftExtension]  (Routes on HAProxy, projects, SCC)

Options are keyword arguments of the flavour's extension (each has defaults that work for tests).
"""
import importlib

FLAVOURS = {"plain": None, "aks": ("lab.kube.flavours.aks", "AksExtension"),
            "openshift": ("lab.kube.flavours.openshift", "OpenShiftExtension")}


def load(name, **options):
    if name not in FLAVOURS:
        raise ValueError(f"unknown cluster flavour {name!r}: choose one of {', '.join(FLAVOURS)}")
    if FLAVOURS[name] is None:
        return []
    module, cls = FLAVOURS[name]
    return [getattr(importlib.import_module(module), cls)(**options)]
