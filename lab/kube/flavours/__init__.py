"""Cluster flavours: what an AKS or an OpenShift cluster adds to plain Kubernetes, as ClusterExtensions.

    load("plain") -> []
    load("aks", tenant_id=..., authority_host=...)  -> [AksExtension]        (workload identity webhook)
    load("openshift", apps_domain=...)              -> [OpenShiftExtension, OvnExtension]  (Routes on HAProxy,
                                                       projects, SCC; the EgressFirewall of OVN-Kubernetes)

Options are keyword arguments of the flavour's extension (each has defaults that work for tests). A started
extension writes its report() to <cluster state>/flavour.json (ports, domains), for launchers in another process.
"""
import importlib
import json
import os

FLAVOURS = {"plain": None, "aks": ("lab.kube.flavours.aks", "AksExtension"),
            "openshift": ("lab.kube.flavours.openshift", "OpenShiftExtension")}
# Extensions a flavour brings besides its own (no options): OpenShift's default network, OVN-Kubernetes.
COMPANIONS = {"openshift": (("lab.kube.flavours.egress_firewall", "OvnExtension"),)}


def load(name, **options):
    if name not in FLAVOURS:
        raise ValueError(f"unknown cluster flavour {name!r}: choose one of {', '.join(FLAVOURS)}")
    if FLAVOURS[name] is None:
        return []
    module, cls = FLAVOURS[name]
    companions = [getattr(importlib.import_module(m), c)() for m, c in COMPANIONS.get(name, ())]
    return [getattr(importlib.import_module(module), cls)(**options), *companions]


def write_report(state_dir, report):
    """<state>/flavour.json: what an extension's report() says once it has started."""
    with open(os.path.join(state_dir, "flavour.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
