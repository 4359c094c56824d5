"""The Azure Workload Identity mutating webhook (azure-workload-identity v1.x, as AKS installs it), as a pure function.

What the real webhook does, and so what this does:
- Its MutatingWebhookConfiguration selects pods by LABEL azure.workload.identity/use=true (objectSelector), on
  CREATE only. A pod with that key as an annotation, or another value, is never sent to it.
- It reads the pod's service account (spec.serviceAccountName, "default" when empty); a missing one fails the pod.
- Token expiry: the pod annotation azure.workload.identity/service-account-token-expiration, else the service
  account's, else 3600; outside 3600..86400 (or not a number) the pod is refused.
- Every container and init container not named in the pod annotation azure.workload.identity/skip-containers
  (";"-separated) gets AZURE_CLIENT_ID (service account annotation client-id), AZURE_TENANT_ID (service account
  annotation tenant-id, else the cluster's tenant), AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST, each only
  when the container does not set it already and the value is not empty; and a read-only mount of the projected
  volume azure-identity-token (serviceAccountToken, audience api://AzureADTokenExchange).
The proxy sidecar (inject-proxy-sidecar) is not emulated: pods get no sidecar.
"""
import copy

from lab.kube.contracts import AdmissionDenied

USE_LABEL = "azure.workload.identity/use"
CLIENT_ID = "azure.workload.identity/client-id"
TENANT_ID = "azure.workload.identity/tenant-id"
TOKEN_EXPIRATION = "azure.workload.identity/service-account-token-expiration"
SKIP_CONTAINERS = "azure.workload.identity/skip-containers"
WEBHOOK = "mutation.azure-workload-identity.io"

AUDIENCE = "api://AzureADTokenExchange"
VOLUME = "azure-identity-token"
MOUNT_PATH = "/var/run/secrets/azure/tokens"
TOKEN_FILE = f"{MOUNT_PATH}/{VOLUME}"
MIN_EXPIRATION, MAX_EXPIRATION, DEFAULT_EXPIRATION = 3600, 86400, 3600


def selected(pod):
    """The webhook's objectSelector: the pod's label, exactly "true"."""
    return ((pod.get("metadata") or {}).get("labels") or {}).get(USE_LABEL) == "true"


def denied(message):
    """The API's words for a webhook that answered admission.Errored(400, err)."""
    return AdmissionDenied(f'admission webhook "{WEBHOOK}" denied the request: {message}', code=400,
                           reason="BadRequest")


def token_expiration(pod_annotations, sa_annotations):
    raw = pod_annotations.get(TOKEN_EXPIRATION) or sa_annotations.get(TOKEN_EXPIRATION) or ""
    if not raw:
        return DEFAULT_EXPIRATION
    try:
        seconds = int(raw, 10)
    except ValueError as err:
        raise denied(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from err
    if not MIN_EXPIRATION <= seconds <= MAX_EXPIRATION:
        raise denied(f"token expiration {seconds} not valid. Expected value to be between "
                     f"{MIN_EXPIRATION} and {MAX_EXPIRATION}")
    return seconds


def _mutate_container(container, env):
    present = {item.get("name") for item in container.get("env") or []}
    additions = [{"name": name, "value": value} for name, value in env if value and name not in present]
    if additions:
        container["env"] = list(container.get("env") or []) + additions
    mount = {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}
    mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") != VOLUME]
    container["volumeMounts"] = mounts + [mount]


def mutate(pod, service_account, default_tenant, authority_host):
    """The pod as the webhook returns it (a new dict; `pod` is left as it was). `service_account` is the
    ServiceAccount dict, or None when it does not exist (refused, as the webhook does)."""
    if not selected(pod):
        return pod
    sa_name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    if service_account is None:
        raise denied(f'serviceaccounts "{sa_name}" not found')
    out = copy.deepcopy(pod)
    pod_annotations = out.get("metadata", {}).get("annotations") or {}
    sa_annotations = (service_account.get("metadata") or {}).get("annotations") or {}
    seconds = token_expiration(pod_annotations, sa_annotations)
    tenant = sa_annotations[TENANT_ID] if TENANT_ID in sa_annotations else default_tenant
    env = [("AZURE_CLIENT_ID", sa_annotations.get(CLIENT_ID, "")), ("AZURE_TENANT_ID", tenant),
           ("AZURE_FEDERATED_TOKEN_FILE", TOKEN_FILE), ("AZURE_AUTHORITY_HOST", authority_host)]
    skip = {name.strip() for name in (pod_annotations.get(SKIP_CONTAINERS) or "").split(";") if name.strip()}
    spec = out.setdefault("spec", {})
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if container.get("name") not in skip:
                _mutate_container(container, env)
    volume = {"name": VOLUME, "projected": {"sources": [{"serviceAccountToken": {
        "path": VOLUME, "expirationSeconds": seconds, "audience": AUDIENCE}}]}}
    spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") != VOLUME] + [volume]
    return out


class WorkloadIdentityWebhook:
    """mutate() as an Admission on pod CREATE; the service account comes from the API's lookup. `enabled`, when
    given, is asked for each selected pod whether the webhook is installed now (an Arc cluster's follows Azure)."""
    name = WEBHOOK
    mutating = True

    def __init__(self, tenant_id, authority_host, enabled=None):
        self.tenant_id = tenant_id
        self.authority_host = authority_host   # what pods use: the lab's Entra as the cluster network reaches it
        self.enabled = enabled

    def admit(self, request):
        if request.operation != "CREATE" or request.resource.plural != "pods" or request.subresource \
                or not request.obj or not selected(request.obj):
            return
        if self.enabled is not None and not self.enabled():
            return
        sa_name = (request.obj.get("spec") or {}).get("serviceAccountName") or "default"
        account = request.lookup("v1", "serviceaccounts", request.namespace, sa_name) if request.lookup else None
        mutated = mutate(request.obj, account, self.tenant_id, self.authority_host)
        request.obj.clear()
        request.obj.update(mutated)
