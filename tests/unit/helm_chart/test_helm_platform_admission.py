"""The chart's pods through the platforms' own admission, as the lab cluster emulates them (lab/kube/flavours):
OpenShift's SCC admission admits values-openshift.yaml's pods under restricted-v2 (and refuses the plain defaults,
which pin a UID outside the namespace's range); the AKS workload identity webhook, selected by the pod LABEL, gives
the Orthanc container its federated token although the service-account token stays unmounted, and the plugin
accepts the Azure configuration with exactly the environment the webhook injects."""
import pytest

from helm_chart_render import FULLNAME, render
from lab.kube.contracts import AdmissionDenied
from lab.kube.flavours import namespaces, scc, workload_identity
from test_helm_three_forms import plugin_check

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "pacs", "annotations": namespaces.annotations_for(7)}}
# Pods of a Deployment are created by the ReplicaSet controller: OpenShift judges them by their service account.
CONTROLLER = ("system:serviceaccount:kube-system:replicaset-controller",
              ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"])
IN_CLUSTER_DB = {"database": {"mode": "inCluster", "inCluster": {"credentialsSecret": {"name": "pg"}}}}


def pods(docs):
    """Every pod the chart's workloads would create, as the API server would receive it."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            template = doc["spec"]["template"]
            yield {"apiVersion": "v1", "kind": "Pod", "metadata": dict(
                template["metadata"], generateName=doc["metadata"]["name"] + "-", namespace="pacs"),
                "spec": template["spec"]}


@pytest.mark.parametrize("extra", [{}, IN_CLUSTER_DB], ids=["external-db", "in-cluster-db"])
def test_openshift_values_are_admitted_under_restricted_v2(extra):
    docs = render(extra, files=("values-openshift.yaml",)) if not extra else render(
        dict(extra, podSecurityContext={"runAsUser": None, "runAsGroup": None, "fsGroup": None,
                                        "fsGroupChangePolicy": None}))
    admitted = 0
    for pod in pods(docs):
        pod, name = scc.admit_pod(pod, NAMESPACE, scc.DEFAULTS, *CONTROLLER)
        assert name == "restricted-v2"
        first, last = namespaces.parse_range(NAMESPACE["metadata"]["annotations"][namespaces.UID_RANGE])
        for container in pod["spec"]["containers"]:
            assert first <= container["securityContext"]["runAsUser"] <= last
        admitted += 1
    assert admitted == (2 if extra else 1)


def test_default_values_pin_a_uid_restricted_v2_refuses():
    (pod,) = pods(render())
    with pytest.raises(AdmissionDenied) as refused:
        scc.admit_pod(pod, NAMESPACE, scc.DEFAULTS, *CONTROLLER)
    assert "runAsUser: Invalid value: 10001" in str(refused.value)


def test_workload_identity_webhook_injects_the_token_with_the_api_token_unmounted():
    docs = render(files=("values-azure.yaml",))
    (pod,) = pods(docs)
    mutated = workload_identity.mutate(pod, docs.get("ServiceAccount"), "tenant-id",
                                       "https://login.microsoftonline.com/")
    container = mutated["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert env["AZURE_FEDERATED_TOKEN_FILE"] == workload_identity.TOKEN_FILE
    assert env["AZURE_CLIENT_ID"] == "00000000-0000-0000-0000-000000000001"
    token_volume = next(v for v in mutated["spec"]["volumes"] if v["name"] == workload_identity.VOLUME)
    assert token_volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "api://AzureADTokenExchange"
    assert mutated["spec"]["automountServiceAccountToken"] is False
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    assert len(mounts) == len(set(mounts)) and not any(
        a != b and a.startswith(b.rstrip("/") + "/") for a in mounts for b in mounts)  # no mount under another


def test_the_plugin_accepts_the_azure_config_with_the_webhooks_environment(tmp_path):
    docs = render(files=("values-azure.yaml",))
    (pod,) = pods(docs)
    mutated = workload_identity.mutate(pod, docs.get("ServiceAccount"), "tenant-id",
                                       "https://login.microsoftonline.com/")
    env = {e["name"]: e["value"] for e in mutated["spec"]["containers"][0]["env"] if e["name"].startswith("AZURE_")}
    assert set(env) == {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"}
    result = plugin_check(docs.config, tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_the_label_the_webhook_leaves_the_pod_alone():
    docs = render({"serviceAccount": {"annotations": {workload_identity.CLIENT_ID: "x"}}})
    (pod,) = pods(docs)
    assert workload_identity.mutate(pod, docs.get("ServiceAccount"), "t", "https://a/") == pod
    assert docs.pod["spec"]["serviceAccountName"] == FULLNAME
