"""What the Container Apps resource provider refuses (the SDK's models check nothing client-side).

Environments: the log destination and the workspace's id/key, the infrastructure subnet (exists, big enough:
/23 for a consumption-only environment, /27 with workload profiles, delegated to Microsoft.App/environments when
workload profiles are used), internal/zone redundancy without a subnet, workload profiles, an immutable network.
Apps: the environment, secrets (a value or a Key Vault URL with an identity of the app), the CPU/memory totals
Azure allows on consumption, probes, scale, ingress (transport, IP restrictions, TCP and additional ports only in a
custom-VNet environment), revision mode and suffix. Each refusal is a 400 with Azure's code and wording.
"""
import ipaddress
import re

from lab.azure.behaviours.log_analytics import by_customer_id
from lab.azure.behaviours.network import SUBNET_TYPE
from lab.azure.web import HttpError

ENV_TYPE = "microsoft.app/managedenvironments"
DELEGATION = "Microsoft.App/environments"
# Consumption: CPU in 0.25 steps up to 4 with twice as many GiB (Azure's ContainerAppInvalidResourceTotal list).
PAIRS = tuple((q / 4, q / 2) for q in range(1, 17))
PROFILE_TYPES = ("Consumption", "Consumption-GPU-NC24-A100", "Consumption-GPU-NC8as-T4", "D4", "D8", "D16", "D32",
                 "E4", "E8", "E16", "E32", "NC24-A100", "NC48-A100", "NC96-A100")
SECRET_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*Gi")
PROBE_RANGES = {"initialDelaySeconds": (0, 60), "periodSeconds": (1, 240), "timeoutSeconds": (1, 240),
                "failureThreshold": (1, 10), "successThreshold": (1, 10)}
TCP_NEEDS_VNET = ("Applications with external TCP ingress can only be deployed to Container App Environments that "
                  "have a custom VNET. Set ingress traffic to 'Limited to Container Apps Environment' if you want to "
                  "deploy to a Container App Environment without a custom VNET. For more information on custom "
                  "VNETs, please visit https://go.microsoft.com/fwlink/?linkid=2238174")


def bad(code, message):
    raise HttpError(400, code, message)


def dig(data, *path):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# Managed environments ------------------------------------------------------------------------------------------
def environment(ctx, body, kept):
    props = body.setdefault("properties", {})
    log_key = app_logs(ctx, props)
    subnet = network(ctx, props, kept)
    profiles(props)
    return log_key, subnet


def app_logs(ctx, props):
    """Check appLogsConfiguration; returns the shared key given (write-only: never stored in the body)."""
    logs = props.get("appLogsConfiguration") or {}
    destination = logs.get("destination")
    if destination not in (None, "", "log-analytics", "azure-monitor", "none"):
        bad("ManagedEnvironmentInvalidAppLogsDestination", f"appLogsConfiguration.destination {destination!r} is "
            "invalid: use 'log-analytics', 'azure-monitor' or none.")
    analytics = logs.get("logAnalyticsConfiguration") or {}
    if destination != "log-analytics":
        if analytics:
            bad("ManagedEnvironmentInvalidAppLogsConfiguration", "logAnalyticsConfiguration is only allowed with "
                "appLogsConfiguration.destination 'log-analytics'.")
        return None
    customer_id, key = analytics.get("customerId"), analytics.pop("sharedKey", None)
    if not customer_id or not key:
        bad("ManagedEnvironmentInvalidLogAnalyticsConfiguration", "The Log Analytics customerId and sharedKey are "
            "required when appLogsConfiguration.destination is 'log-analytics'.")
    workspace = by_customer_id(ctx, customer_id)
    if workspace is None:
        bad("ManagedEnvironmentLogAnalyticsWorkspaceNotFound", f"Log Analytics workspace with customer id "
            f"'{customer_id}' was not found: give the workspace's customerId (properties.customerId).")
    if key not in workspace["private"]["sharedKeys"].values():
        bad("ManagedEnvironmentInvalidLogAnalyticsSharedKey", f"The shared key given for Log Analytics workspace "
            f"'{customer_id}' is invalid: read it with the workspace's sharedKeys action.")
    return key


def network(ctx, props, kept):
    vnet = props.get("vnetConfiguration") or {}
    subnet_id = vnet.get("infrastructureSubnetId")
    if kept and (dig(kept, "vnetConfiguration") or {}) != vnet:
        bad("ManagedEnvironmentCannotUpdateVnetConfiguration", "The VNet configuration of a managed environment "
            "cannot be changed after it is created: create a new environment.")
    if not subnet_id:
        if vnet.get("internal"):
            bad("ManagedEnvironmentInternalRequiresVnet", "vnetConfiguration.internal requires "
                "vnetConfiguration.infrastructureSubnetId: an internal environment lives in your own subnet.")
        if props.get("zoneRedundant"):
            bad("ManagedEnvironmentZoneRedundantRequiresVnet", "zoneRedundant requires "
                "vnetConfiguration.infrastructureSubnetId: zone redundancy needs a custom VNet.")
        return None
    subnet = ctx.store.get_resource(subnet_id)
    if not subnet or subnet["body"]["type"] != SUBNET_TYPE:
        bad("InvalidResourceReference", f"The infrastructure subnet {subnet_id} was not found.")
    sprops = subnet["body"].get("properties") or {}
    prefix = sprops.get("addressPrefix") or (sprops.get("addressPrefixes") or [None])[0]
    try:
        size = ipaddress.ip_network(prefix).prefixlen
    except (TypeError, ValueError):
        bad("InvalidResourceReference", f"The infrastructure subnet {subnet_id} has no address prefix.")
    workload = bool(props.get("workloadProfiles"))
    limit = 27 if workload else 23
    if size > limit:
        kind = "a workload profiles environment" if workload else "a Consumption only environment"
        bad("ManagedEnvironmentInvalidNetworkConfiguration", f"The subnet {subnet['body']['name']} ({prefix}) is too "
            f"small: {kind} needs an infrastructure subnet of /{limit} or larger.")
    delegations = [dig(d, "properties", "serviceName") for d in sprops.get("delegations") or []]
    if workload and DELEGATION not in delegations:
        bad("ManagedEnvironmentSubnetIsNotDelegated", f"The subnet {subnet['body']['name']} must be delegated to "
            f"'{DELEGATION}' for a workload profiles environment.")
    if not workload and delegations:
        bad("ManagedEnvironmentSubnetIsDelegated", f"The subnet {subnet['body']['name']} is delegated to "
            f"{', '.join(filter(None, delegations))}: a Consumption only environment needs an undelegated subnet.")
    return prefix


def profiles(props):
    seen = set()
    for profile in props.get("workloadProfiles") or []:
        name, kind = profile.get("name"), profile.get("workloadProfileType")
        if kind not in PROFILE_TYPES:
            bad("ManagedEnvironmentInvalidWorkloadProfileType", f"Workload profile type {kind!r} is invalid: use one "
                f"of {', '.join(PROFILE_TYPES)}.")
        if name in seen:
            bad("ManagedEnvironmentDuplicateWorkloadProfileName", f"Workload profile name {name!r} is used twice.")
        seen.add(name)
        low, high = profile.get("minimumCount"), profile.get("maximumCount")
        if kind.startswith("Consumption"):
            if low is not None or high is not None:
                bad("ManagedEnvironmentInvalidWorkloadProfileCount", f"Workload profile {name}: minimumCount and "
                    "maximumCount are not allowed on a Consumption profile.")
        elif low is None or high is None or not 0 <= low <= high <= 100:
            bad("ManagedEnvironmentInvalidWorkloadProfileCount", f"Workload profile {name}: minimumCount ({low}) and "
                f"maximumCount ({high}) are required for a dedicated profile, with 0 <= minimum <= maximum <= 100.")
    if props.get("workloadProfiles") and "Consumption" not in {p.get("workloadProfileType")
                                                              for p in props["workloadProfiles"]}:
        bad("ManagedEnvironmentMissingConsumptionProfile", "A workload profiles environment must include the "
            "'Consumption' workload profile.")


# Container apps -------------------------------------------------------------------------------------------------
def app(ctx, body):
    """Refuse what Azure refuses; returns the environment record."""
    props = body.setdefault("properties", {})
    env_id = props.get("managedEnvironmentId") or props.get("environmentId")
    env = ctx.store.get_resource(env_id) if isinstance(env_id, str) else None
    if not env or env["body"]["type"].lower() != ENV_TYPE:
        bad("ManagedEnvironmentNotFound", f"The managed environment {env_id!r} was not found: set "
            "properties.managedEnvironmentId to an existing Microsoft.App/managedEnvironments id.")
    config = props.get("configuration") or {}
    mode = config.get("activeRevisionsMode", "Single")
    if mode not in ("Single", "Multiple", "Labels"):
        bad("ContainerAppInvalidActiveRevisionsMode", f"activeRevisionsMode {mode!r} is invalid: use Single, Multiple "
            "or Labels.")
    secrets_of(body)
    template = props.get("template") or {}
    profile = props.get("workloadProfileName")
    env_profiles = {p.get("name"): p for p in dig(env, "body", "properties", "workloadProfiles") or []}
    if profile and profile not in env_profiles:
        bad("ContainerAppInvalidWorkloadProfileName", f"Workload profile {profile!r} is not defined in the managed "
            "environment.")
    consumption = not profile or env_profiles[profile].get("workloadProfileType", "").startswith("Consumption")
    containers(template, consumption)
    names = {s.get("name") for s in config.get("secrets") or []}
    for container in (template.get("containers") or []) + (template.get("initContainers") or []):
        for item in container.get("env") or []:
            if item.get("secretRef") and item["secretRef"] not in names:
                bad("ContainerAppSecretRefNotFound", f"Container '{container.get('name')}': env {item.get('name')} "
                    f"references secret '{item['secretRef']}', which configuration.secrets does not define.")
    scale(template)
    ingress(config.get("ingress"), bool(dig(env, "body", "properties", "vnetConfiguration", "infrastructureSubnetId")))
    return env


def secrets_of(body):
    identity = body.get("identity") or {}
    system = "systemassigned" in str(identity.get("type", "")).replace(" ", "").lower()
    users = {i.lower() for i in identity.get("userAssignedIdentities") or {}}
    seen = set()
    for secret in dig(body, "properties", "configuration", "secrets") or []:
        name = secret.get("name")
        if not isinstance(name, str) or not SECRET_NAME.fullmatch(name):
            bad("ContainerAppSecretInvalidName", f"Secret name {name!r} is invalid: lower case alphanumeric "
                "characters, '-' or '.', starting and ending with an alphanumeric character.")
        if name in seen:
            bad("ContainerAppDuplicateSecretName", f"Secret name '{name}' is used more than once.")
        seen.add(name)
        url, who = secret.get("keyVaultUrl"), secret.get("identity")
        if url and secret.get("value") is not None:
            bad("ContainerAppSecretInvalid", f"Secret '{name}': give either value or keyVaultUrl, not both.")
        if url:
            if not who:
                bad("ContainerAppSecretInvalid", f"Secret '{name}': a Key Vault reference needs an identity ('system' "
                    "or the resource id of a user-assigned identity of the app).")
            if (who.lower() == "system" and not system) or (who.lower() != "system" and who.lower() not in users):
                bad("ContainerAppSecretInvalidIdentity", f"Secret '{name}': identity {who!r} is not assigned to the "
                    "container app.")
        elif secret.get("value") is None:
            bad("ContainerAppSecretInvalid", f"Secret '{name}' has no value: give value or keyVaultUrl (Azure never "
                "returns values; read them with listSecrets before a full update).")


def _memory_gib(value, where):
    found = MEMORY.fullmatch(str(value or "").strip())
    if not found:
        bad("ContainerAppInvalidMemoryFormat", f"{where}: memory {value!r} is invalid: use a number of Gi, e.g. "
            "'1Gi' or '0.5Gi'.")
    return float(found.group(1))


def containers(template, consumption):
    items = template.get("containers") or []
    if not items:
        bad("ContainerAppInvalidTemplate", "template.containers must hold at least one container.")
    cpu = memory = 0.0
    for container in items:
        name = container.get("name")
        if not name or not container.get("image"):
            bad("ContainerAppInvalidTemplate", f"Container {name!r}: name and image are required.")
        resources = container.get("resources") or {}
        try:
            cpu += float(resources.get("cpu", 0.5))
        except (TypeError, ValueError):
            bad("ContainerAppInvalidCpu", f"Container {name}: cpu {resources.get('cpu')!r} is not a number of cores.")
        memory += _memory_gib(resources.get("memory", "1Gi"), f"container {name}")
        probes(container)
    for container in template.get("initContainers") or []:
        probes(container)
    if consumption and (round(cpu, 2), round(memory, 2)) not in PAIRS:
        listed = "; ".join(f"[cpu: {c}, memory: {m}Gi]" for c, m in PAIRS)
        bad("ContainerAppInvalidResourceTotal", f"The total requested CPU and memory resources for this application "
            f"(CPU: {cpu:g}, memory: {memory:g}) is invalid. Total CPU and memory for all containers defined in a "
            f"Container App must add up to one of the following CPU - Memory combinations: {listed}")


def probes(container):
    seen = set()
    for probe in container.get("probes") or []:
        kind = probe.get("type")
        if kind not in ("Liveness", "Readiness", "Startup"):
            bad("ContainerAppInvalidProbe", f"Container {container.get('name')}: probe type {kind!r} is invalid: use "
                "Liveness, Readiness or Startup.")
        if kind in seen:
            bad("ContainerAppInvalidProbe", f"Container {container.get('name')}: only one {kind} probe is allowed.")
        seen.add(kind)
        if bool(probe.get("httpGet")) == bool(probe.get("tcpSocket")):
            bad("ContainerAppInvalidProbe", f"Container {container.get('name')}: a {kind} probe needs exactly one of "
                "httpGet or tcpSocket.")
        for field, (low, high) in PROBE_RANGES.items():
            value = probe.get(field)
            number = isinstance(value, int) and not isinstance(value, bool)
            if value is not None and (not number or not low <= value <= high):
                bad("ContainerAppInvalidProbe", f"Container {container.get('name')}: {kind} probe {field} {value} is "
                    f"outside {low}-{high}.")


def scale(template):
    rules = template.get("scale") or {}
    low, high = rules.get("minReplicas", 0), rules.get("maxReplicas", 10)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or \
            not 0 <= low <= 1000 or not 1 <= high <= 1000 or low > high:
        bad("ContainerAppInvalidScaleSpec", f"minReplicas ({low}) and maxReplicas ({high}) are invalid: 0 <= min <= "
            "max, 1 <= max <= 1000.")


def ingress(spec, custom_vnet):
    if not spec:
        return
    transport = spec.get("transport", "auto")
    if transport not in ("auto", "http", "http2", "tcp"):
        bad("ContainerAppInvalidIngressTransport", f"ingress.transport {transport!r} is invalid: use auto, http, "
            "http2 or tcp.")
    port = spec.get("targetPort")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        bad("ContainerAppInvalidIngressTargetPort", f"ingress.targetPort {port!r} is invalid: 1-65535.")
    if transport == "tcp" and spec.get("external") and not custom_vnet:
        bad("ContainerAppTcpRequiresVnet", TCP_NEEDS_VNET)
    if spec.get("exposedPort") and transport != "tcp":
        bad("ContainerAppInvalidIngressExposedPort", "ingress.exposedPort is only allowed with transport tcp.")
    for mapping in spec.get("additionalPortMappings") or []:
        if not custom_vnet:
            bad("ContainerAppTcpRequiresVnet", TCP_NEEDS_VNET)
        if not isinstance(mapping.get("targetPort"), int) or not 1 <= mapping["targetPort"] <= 65535:
            bad("ContainerAppInvalidIngressTargetPort", f"additionalPortMappings targetPort "
                f"{mapping.get('targetPort')!r} is invalid: 1-65535.")
    actions = set()
    for rule in spec.get("ipSecurityRestrictions") or []:
        try:
            ipaddress.ip_network(rule.get("ipAddressRange"), strict=False)
        except (TypeError, ValueError):
            bad("ContainerAppInvalidIpSecurityRestriction", f"ipSecurityRestrictions {rule.get('name')!r}: "
                f"ipAddressRange {rule.get('ipAddressRange')!r} is not an IP address or CIDR range.")
        if rule.get("action") not in ("Allow", "Deny"):
            bad("ContainerAppInvalidIpSecurityRestriction", f"ipSecurityRestrictions {rule.get('name')!r}: action "
                "must be Allow or Deny.")
        actions.add(rule["action"])
    if len(actions) > 1:
        bad("ContainerAppInvalidIpSecurityRestriction", "All ipSecurityRestrictions must use the same action: all "
            "Allow or all Deny.")
