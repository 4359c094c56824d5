"""Container Apps realized in the lab: each managed environment is a podman network, each active revision runs
as podman containers (min replicas of them) on it, an ingress forwarder on a local port sends clients to the
serving revision's replicas, and the managed identity endpoint is served on the network's gateway.

checks.py    what the resource provider refuses (before anything is stored)
network.py   the environment's podman network and its gateway
secrets.py   secretRef values and Key Vault references (through the app's identity, RBAC checked)
replicas.py  podman containers of a revision: image, environment, start, stop, state
health.py    readiness of a replica from its probes (or a TCP check of the target port)
ingress.py   the forwarder: TLS with the lab certificate, IP restrictions, replicas round-robin
identity.py  IDENTITY_ENDPOINT/IDENTITY_HEADER on the gateway (App Service protocol, api-version 2019-08-01)
revisions.py what the ARM behaviours call: deploy a revision, move traffic, activate/deactivate/restart, teardown
Every container and network is labelled io.medimaging.lab=container-apps, and io.medimaging.lab-dir=<key of the lab
directory> so that a lab removes only its own (`python -m lab down` removes what a killed emulator left).
"""
import hashlib

from lab.containers.runtime import ContainerError, owner_label, podman

OWNER = "container-apps"
LAB_LABEL = "io.medimaging.lab-dir"


def lab_key(lab_root):
    return hashlib.sha256(lab_root.encode()).hexdigest()[:10]


def labels(ctx):
    """podman arguments labelling what the emulator ctx creates."""
    return ["--label", owner_label(OWNER), "--label", f"{LAB_LABEL}={lab_key(ctx.layout.root)}"]


def remove_lab(lab_root):
    """Remove the containers and networks of the lab in lab_root; returns what was removed (names)."""
    removed = []
    filt = f"label={LAB_LABEL}={lab_key(lab_root)}"
    try:
        for kind, extra in (("container", ["-a"]), ("network", [])):
            names = podman(kind, "ls", *extra, "-q", "--filter", filt, check=False).stdout.decode().split()
            if names:
                podman(kind, "rm", "-f", *names, check=False)
                removed += [f"container-apps {kind} {name}" for name in names]
    except ContainerError:  # no podman on this machine: nothing can have been started
        pass
    return removed
