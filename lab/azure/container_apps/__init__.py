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
Every container and network is labelled io.medimaging.lab=container-apps.
"""
OWNER = "container-apps"
