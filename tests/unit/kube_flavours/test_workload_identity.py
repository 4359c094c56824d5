"""The Azure Workload Identity webhook: which pods it mutates and what it injects (azure-workload-identity v1.x)."""
import pytest

from lab.kube.contracts import AdmissionDenied, AdmissionRequest, ResourceType, UserInfo
from lab.kube.flavours import workload_identity as wi

TENANT, AUTHORITY = "11111111-1111-1111-1111-111111111111", "https://10.89.80.1:8443/"
PODS = ResourceType("", "v1", "Pod", "pods")


def pod(labels=None, annotations=None, sa="app", containers=("main",), init=(), env=None):
    spec = {"containers": [{"name": name, "image": "x", **({"env": list(env)} if env else {})} for name in containers]}
    if init:
        spec["initContainers"] = [{"name": name, "image": "x"} for name in init]
    if sa:
        spec["serviceAccountName"] = sa
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "labels": labels or {}, "annotations": annotations or {}},
            "spec": spec}


def account(**annotations):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "ns",
                                                                     "annotations": annotations}}


LABELLED = {wi.USE_LABEL: "true"}
SA = account(**{wi.CLIENT_ID: "client-1"})


def env_of(container):
    return {item["name"]: item["value"] for item in container.get("env", [])}


def test_labelled_pod_gets_env_volume_and_mount():
    out = wi.mutate(pod(labels=LABELLED), SA, TENANT, AUTHORITY)
    main = out["spec"]["containers"][0]
    assert env_of(main) == {"AZURE_CLIENT_ID": "client-1", "AZURE_TENANT_ID": TENANT,
                            "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token",
                            "AZURE_AUTHORITY_HOST": AUTHORITY}
    assert main["volumeMounts"] == [{"name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens",
                                     "readOnly": True}]
    assert out["spec"]["volumes"] == [{"name": "azure-identity-token", "projected": {"sources": [
        {"serviceAccountToken": {"path": "azure-identity-token", "expirationSeconds": 3600,
                                 "audience": "api://AzureADTokenExchange"}}]}}]


@pytest.mark.parametrize("labels, annotations", [
    ({}, {wi.USE_LABEL: "true"}),            # annotation alone: the webhook never sees the pod
    ({wi.USE_LABEL: "True"}, {}),            # the objectSelector matches "true" exactly
    ({wi.USE_LABEL: "false"}, {}),
    ({}, {}),
])
def test_pods_without_the_label_are_untouched(labels, annotations):
    original = pod(labels=labels, annotations=annotations)
    assert wi.mutate(original, SA, TENANT, AUTHORITY) == original
    assert "volumes" not in original["spec"]


def test_tenant_from_the_service_account_wins_over_the_cluster_default():
    out = wi.mutate(pod(labels=LABELLED), account(**{wi.CLIENT_ID: "c", wi.TENANT_ID: "tenant-b"}), TENANT, AUTHORITY)
    assert env_of(out["spec"]["containers"][0])["AZURE_TENANT_ID"] == "tenant-b"


def test_without_client_id_annotation_no_client_id_env_but_still_the_token():
    out = wi.mutate(pod(labels=LABELLED), account(), TENANT, AUTHORITY)
    env = env_of(out["spec"]["containers"][0])
    assert "AZURE_CLIENT_ID" not in env and env["AZURE_TENANT_ID"] == TENANT
    assert out["spec"]["volumes"][0]["name"] == "azure-identity-token"


def test_skip_containers_and_init_containers():
    out = wi.mutate(pod(labels=LABELLED, annotations={wi.SKIP_CONTAINERS: "side; init-b"},
                        containers=("main", "side"), init=("init-a", "init-b")), SA, TENANT, AUTHORITY)
    by_name = {c["name"]: c for c in out["spec"]["containers"] + out["spec"]["initContainers"]}
    assert "env" not in by_name["side"] and "volumeMounts" not in by_name["side"]
    assert "env" not in by_name["init-b"]
    assert env_of(by_name["init-a"])["AZURE_CLIENT_ID"] == "client-1"
    assert env_of(by_name["main"])["AZURE_CLIENT_ID"] == "client-1"


def test_env_the_container_sets_is_kept():
    out = wi.mutate(pod(labels=LABELLED, env=[{"name": "AZURE_CLIENT_ID", "value": "mine"}]), SA, TENANT, AUTHORITY)
    names = [e["name"] for e in out["spec"]["containers"][0]["env"]]
    assert names.count("AZURE_CLIENT_ID") == 1 and env_of(out["spec"]["containers"][0])["AZURE_CLIENT_ID"] == "mine"


@pytest.mark.parametrize("pod_value, sa_value, expected", [
    ("", "", 3600), ("", "7200", 7200), ("86400", "7200", 86400)])
def test_token_expiration_pod_then_service_account_then_default(pod_value, sa_value, expected):
    annotations = {wi.TOKEN_EXPIRATION: pod_value} if pod_value else {}
    sa = account(**{wi.CLIENT_ID: "c", **({wi.TOKEN_EXPIRATION: sa_value} if sa_value else {})})
    out = wi.mutate(pod(labels=LABELLED, annotations=annotations), sa, TENANT, AUTHORITY)
    assert out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == expected


@pytest.mark.parametrize("value, words", [("600", "token expiration 600 not valid. Expected value to be between "
                                                   "3600 and 86400"), ("1h", 'parsing "1h": invalid syntax')])
def test_bad_expiration_is_refused(value, words):
    with pytest.raises(AdmissionDenied) as err:
        wi.mutate(pod(labels=LABELLED, annotations={wi.TOKEN_EXPIRATION: value}), SA, TENANT, AUTHORITY)
    assert err.value.code == 400 and words in err.value.message
    assert err.value.message.startswith('admission webhook "mutation.azure-workload-identity.io" denied the request')


def test_missing_service_account_is_refused():
    with pytest.raises(AdmissionDenied, match='serviceaccounts "app" not found'):
        wi.mutate(pod(labels=LABELLED), None, TENANT, AUTHORITY)


def test_admission_object_mutates_in_place_through_lookup():
    looked = []

    def lookup(api_version, plural, namespace, name):
        looked.append((api_version, plural, namespace, name))
        return SA

    obj = pod(labels=LABELLED, sa="")
    request = AdmissionRequest("CREATE", PODS, "ns", "p", obj, None, UserInfo("admin"), lookup=lookup)
    wi.WorkloadIdentityWebhook(TENANT, AUTHORITY).admit(request)
    assert looked == [("v1", "serviceaccounts", "ns", "default")]
    assert env_of(obj["spec"]["containers"][0])["AZURE_AUTHORITY_HOST"] == AUTHORITY
    # UPDATE is not the webhook's verb
    again = pod(labels=LABELLED)
    wi.WorkloadIdentityWebhook(TENANT, AUTHORITY).admit(
        AdmissionRequest("UPDATE", PODS, "ns", "p", again, obj, UserInfo("admin"), lookup=lookup))
    assert "volumes" not in again["spec"]


def test_flavours_load_by_name():
    from lab.kube import flavours
    assert flavours.load("plain") == []
    aks = flavours.load("aks", tenant_id=TENANT, authority_host="https://login.microsoftonline.com/")[0]
    assert aks.name == "aks" and aks.admissions() == [aks.webhook] and aks.resources() == []
    assert [e.name for e in flavours.load("openshift")] == ["openshift", "ovn-kubernetes"]
    with pytest.raises(ValueError, match="unknown cluster flavour 'eks': choose one of plain, aks, openshift"):
        flavours.load("eks")
