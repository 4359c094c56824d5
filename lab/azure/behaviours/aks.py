"""AKS managed clusters as the resource provider runs them, backed by the lab's Kubernetes when one is there.

Refused as AKS refuses: no System pool, bad pool names, autoscaler bounds, min/max without autoscaling, workload
identity without the OIDC issuer, turning the issuer off, changing dnsPrefix/private cluster/network plugin/VM
size, a kubelet identity without a user-assigned control-plane identity, missing identities or subnets.

Set as AKS sets them: fqdn/privateFQDN, nodeResourceGroup, currentKubernetesVersion, powerState, the kubelet
identity (a generated one unless given), the add-on identity, and the OIDC issuer URL: the `issuer` file of the
lab cluster that backs it ($LAB_DIR/kube/<cluster>/issuer), else the emulator's own lab issuer for the cluster
(a working one: federated credentials naming it can be exercised). The lab cluster's name is the resource's tag
`lab-cluster`, else the resource name. listClusterUserCredential answers that cluster's kubeconfig.
"""
import base64
import hashlib
import ipaddress
import os
import re
import uuid

from lab.azure.behaviours import Behaviour
from lab.azure.behaviours.network import subnet_exists
from lab.azure.web import HttpError

DEFAULT_VERSION = "1.33.3"
POOL_NAME = re.compile(r"[a-z][a-z0-9]{0,11}")
DNS_PREFIX = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?")
ENUMS = {("networkProfile", "networkPlugin"): ("azure", "kubenet", "none"),
         ("networkProfile", "networkPolicy"): ("azure", "calico", "cilium", "none"),
         ("networkProfile", "networkPluginMode"): ("overlay",)}
IDENTITY_TYPE = "microsoft.managedidentity/userassignedidentities"


def bad(message, code="BadRequest"):
    raise HttpError(400, code, message)


def lab_cluster_name(body):
    return (body.get("tags") or {}).get("lab-cluster") or body["name"].lower()


def lab_cluster_file(ctx, body, name):
    return os.path.join(ctx.layout.root, "kube", lab_cluster_name(body), name)


def lab_cluster_kubeconfig(ctx, body, kind, flavour):
    """Base64 of the kubeconfig of the lab cluster behind a managed or connected cluster; 404 saying how to start
    one when none backs it (listClusterUserCredential of both resource types)."""
    path = lab_cluster_file(ctx, body, "kubeconfig")
    try:
        with open(path, "rb") as handle:
            return base64.b64encode(handle.read()).decode()
    except OSError:
        raise HttpError(404, "LabClusterNotFound", f"No lab cluster backs {kind} '{body['name']}': {path} does not "
                        f"exist. Start one with `python -m lab.kube up --name {lab_cluster_name(body)} --flavour "
                        f"{flavour}`, or tag the {kind.split()[-1] if kind.startswith('managed') else kind} "
                        "lab-cluster=<name> of a running one.") from None


class ManagedCluster(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        self.check_immutable(props, kept)
        self.check_pools(ctx, props, kept)
        self.check_network(props)
        self.check_identities(ctx, body)
        oidc = props.setdefault("oidcIssuerProfile", {})
        if kept.get("oidcIssuerProfile", {}).get("enabled") and oidc.get("enabled") is False:
            bad("OIDC issuer feature cannot be disabled once it has been enabled.")
        if (props.get("securityProfile") or {}).get("workloadIdentity", {}).get("enabled") and not oidc.get("enabled"):
            bad("Enabling workload identity requires enabling OIDC issuer feature.")
        oidc["issuerURL"] = self.issuer(ctx, body) if oidc.get("enabled") else None
        self.fill(ctx, body, props, kept)

    @staticmethod
    def check_immutable(props, kept):
        if not kept:
            if not DNS_PREFIX.fullmatch(props.get("dnsPrefix") or ""):
                bad(f"The value of parameter dnsPrefix {props.get('dnsPrefix')!r} is invalid: 1-54 alphanumerics and "
                    "hyphens, starting and ending with an alphanumeric.", "InvalidDnsPrefix")
            return
        for path in (("dnsPrefix",), ("networkProfile", "networkPlugin"),
                     ("apiServerAccessProfile", "enablePrivateCluster")):
            old, new = _dig(kept, path), _dig(props, path)
            if new is not None and old is not None and old != new:
                bad(f"Changing property '{'.'.join(path)}' is not allowed (from {old!r} to {new!r}).",
                    "PropertyChangeNotAllowed")

    @staticmethod
    def check_pools(ctx, props, kept):
        pools = props.get("agentPoolProfiles") or []
        if not pools:
            bad("At least one agent pool profile is required.", "InvalidParameter")
        if not any(p.get("mode") == "System" for p in pools):
            bad("There has to be at least one system agent pool.", "MustDefineAtLeastOneSystemPool")
        old = {p.get("name"): p for p in kept.get("agentPoolProfiles") or []}
        for pool in pools:
            name = pool.get("name")
            if not isinstance(name, str) or not POOL_NAME.fullmatch(name):
                bad(f"The agent pool name {name!r} is invalid: 1-12 lower-case alphanumerics starting with a letter.",
                    "InvalidAgentPoolName")
            if not pool.get("vmSize"):
                bad(f"Agent pool {name}: vmSize is required.", "InvalidParameter")
            if name in old and old[name]["vmSize"].lower() != pool["vmSize"].lower():
                bad(f"Changing property 'vmSize' of agent pool {name} is not allowed.", "PropertyChangeNotAllowed")
            auto, low, high = pool.get("enableAutoScaling"), pool.get("minCount"), pool.get("maxCount")
            if auto:
                if low is None or high is None or low > high:
                    bad(f"Agent pool {name}: with autoscaling, minCount ({low}) and maxCount ({high}) are required and "
                        "minCount must not exceed maxCount.", "InvalidParameter")
                count = pool.get("count", (old.get(name) or {}).get("count", low))
                pool["count"] = min(max(count, low), high)
            elif low is not None or high is not None:
                bad(f"Agent pool {name}: minCount and maxCount can only be set when enableAutoScaling is true.",
                    "InvalidParameter")
            count = pool.setdefault("count", 1)
            if not 0 <= count <= 1000 or (pool.get("mode") == "System" and count < 1):
                bad(f"Agent pool {name}: count {count} is outside 1-1000 (0-1000 for a User pool).", "InvalidParameter")
            if pool.get("vnetSubnetID"):
                subnet_exists(ctx, pool["vnetSubnetID"], f"agent pool {name}")
            pool.update(provisioningState="Succeeded", powerState={"code": "Running"},
                        orchestratorVersion=props.get("kubernetesVersion") or DEFAULT_VERSION,
                        currentOrchestratorVersion=props.get("kubernetesVersion") or DEFAULT_VERSION)
            pool.setdefault("osType", "Linux")
            pool.setdefault("type", "VirtualMachineScaleSets")

    @staticmethod
    def check_network(props):
        network = props.setdefault("networkProfile", {})
        for path, allowed in ENUMS.items():
            value = _dig(props, path)
            if value is not None and value not in allowed:
                bad(f"The value {value!r} of {'.'.join(path)} is invalid: use one of {', '.join(allowed)}.",
                    "InvalidParameter")
        network.setdefault("networkPlugin", "kubenet")
        cidr, dns = network.get("serviceCidr"), network.get("dnsServiceIP")
        if cidr or dns:
            try:
                inside = ipaddress.ip_address(dns) in ipaddress.ip_network(cidr)
            except (TypeError, ValueError):
                inside = False
            if not inside:
                bad(f"The DNSServiceIP {dns!r} must be inside the service CIDR {cidr!r}.", "InvalidDNSServiceIP")
        network.setdefault("serviceCidr", "10.0.0.0/16")
        network.setdefault("dnsServiceIP", "10.0.0.10")

    @staticmethod
    def check_identities(ctx, body):
        identity = body.get("identity") or {}
        kubelet = (_dig(body, ("properties", "identityProfile", "kubeletidentity")) or {}).get("resourceId")
        kind = (identity.get("type") or "").lower()
        if kind not in ("systemassigned", "userassigned", ""):
            bad(f"The identity type {identity.get('type')!r} is not supported: use SystemAssigned or UserAssigned.",
                "InvalidIdentityType")
        if kind == "userassigned" and len(identity.get("userAssignedIdentities") or {}) != 1:
            bad("Exactly one user assigned identity is allowed for the control plane.", "BadRequest")
        if kubelet:
            if kind != "userassigned":
                bad("A kubelet identity needs a user assigned control plane identity.",
                    "CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster")
            found = ctx.store.get_resource(kubelet)
            if not found or found["body"]["type"].lower() != IDENTITY_TYPE:
                bad(f"The kubelet identity {kubelet} was not found.", "InvalidParameter")

    @staticmethod
    def issuer(ctx, body):
        try:
            with open(lab_cluster_file(ctx, body, "issuer"), encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError:
            return f"{ctx.base_url}/_lab/oidc/aks-{lab_cluster_name(body)}"

    @staticmethod
    def fill(ctx, body, props, kept):
        group = body["id"].split("/")[4]
        location = body["location"]
        suffix = kept.get("fqdn", "-").split(".")[0].rsplit("-", 1)[-1] or \
            hashlib.sha256(body["id"].lower().encode()).hexdigest()[:8]
        host = f"{props['dnsPrefix']}-{suffix}"
        private = (props.get("apiServerAccessProfile") or {}).get("enablePrivateCluster")
        props["fqdn"] = f"{host}.hcp.{location}.azmk8s.io"
        props["privateFQDN"] = f"{host}.{uuid.uuid5(uuid.NAMESPACE_URL, body['id'])}.privatelink.{location}." \
                               "azmk8s.io" if private else None
        props["azurePortalFQDN"] = props["fqdn"]
        props.setdefault("nodeResourceGroup", kept.get("nodeResourceGroup") or f"MC_{group}_{body['name']}_{location}")
        props["currentKubernetesVersion"] = props.get("kubernetesVersion") or DEFAULT_VERSION
        props["powerState"] = {"code": "Running"}
        props["maxAgentPools"] = 100
        profile = props.setdefault("identityProfile", {})
        kubelet = profile.setdefault("kubeletidentity", {})
        if kubelet.get("resourceId") and ctx.store.get_resource(kubelet["resourceId"]):
            uai = ctx.store.get_resource(kubelet["resourceId"])["body"]["properties"]
            kubelet.update(clientId=uai["clientId"], objectId=uai["principalId"])
        else:
            old = (kept.get("identityProfile") or {}).get("kubeletidentity") or {}
            kubelet.update(
                resourceId=old.get("resourceId") or f"/subscriptions/{body['id'].split('/')[2]}/resourceGroups/"
                f"{props['nodeResourceGroup']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                f"{body['name']}-agentpool",
                clientId=old.get("clientId") or str(uuid.uuid4()), objectId=old.get("objectId") or str(uuid.uuid4()))
        addon = (props.get("addonProfiles") or {}).get("azureKeyvaultSecretsProvider")
        if addon and addon.get("enabled"):
            old = ((kept.get("addonProfiles") or {}).get("azureKeyvaultSecretsProvider") or {}).get("identity") or {}
            addon["identity"] = old or {"clientId": str(uuid.uuid4()), "objectId": str(uuid.uuid4()),
                                        "resourceId": kubelet["resourceId"].rsplit("/", 1)[0]
                                        + f"/azurekeyvaultsecretsprovider-{body['name']}"}

    def action_listClusterUserCredential(self, ctx, record, body):  # noqa: N802 - the ARM action's name
        value = lab_cluster_kubeconfig(ctx, record["body"], "managed cluster", "aks")
        return 200, {"kubeconfigs": [{"name": "clusterUser", "value": value}]}


def _dig(data, path):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
