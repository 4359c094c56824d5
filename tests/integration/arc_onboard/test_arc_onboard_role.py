"""The arc_onboard role against the Azure emulator and a lab OpenShift-flavoured cluster whose pods really run.

One module-scoped world: a throwaway lab, the cluster `arc-it` ($LAB_DIR/kube/arc-it, so the emulator backs the
connected cluster with it), and the emulator relayed from the pod network's gateway (lab.site.relay, TLS end
to end) so the stand-in agents can report. The story, in order: converge
-> the agents' pod signs its report with the key the role generated -> Connected, with extensions, a Flux
configuration and a guardrail assignment in Azure; a second converge changes nothing; absent removes it all.
Check mode is proven per module in tests/unit/azure/test_arc_modules.py (a playbook run costs ~30 s of CI).
"""
import base64
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from lab.containers import images
from lab.kube.cluster import Cluster
from lab.throwaway import throwaway_lab

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "integration", "azure"))
from playbook_runner import azure_environment, run_local_playbook  # noqa: E402  pylint: disable=wrong-import-position

GROUP, NAME = "rg-arc", "arc-it"
API = {"api-version": "2026-05-01"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    images.ensure("debian-trixie")
    with throwaway_lab(prefix="arc-onboard-") as lab:
        env = lab.env()
        cluster = Cluster(NAME, os.path.join(env["lab_dir"], "kube", NAME), lab.layout.ca_dir, "openshift", pods=True)
        relay = None
        try:
            cluster.start()
            port = urllib.parse.urlsplit(env["arm_endpoint"]).port
            # The site's TCP relay: TLS stays end to end, the pods verify the emulator's own name (127.0.0.1).
            relay = subprocess.Popen([sys.executable, "-m", "lab.site.relay", "--listen", cluster.gateway,
                                      "--port", str(port)], cwd=REPO_ROOT)
            session = arm_session(env)
            base = "%s/subscriptions/%s/resourceGroups/%s" % (env["arm_endpoint"].rstrip("/"), env["subscription_id"],
                                                               GROUP)
            assert session.put(base, params={"api-version": "2021-04-01"}, json={"location": env["location"]}).ok
            yield {"env": env, "cluster": cluster, "session": session, "group_url": base,
                   "endpoint_from_pods": "https://%s:%d" % (cluster.gateway, port),
                   "workdir": str(tmp_path_factory.mktemp("arc-onboard"))}
        finally:
            if relay is not None:
                relay.terminate()
                relay.wait(timeout=30)
            cluster.stop()


def arm_session(env):
    import requests
    token = requests.post(env["authority_host"].rstrip("/") + "/%s/oauth2/v2.0/token" % env["tenant_id"],
                          data={"grant_type": "client_credentials", "client_id": env["client_id"],
                                "client_secret": env["client_secret"],
                                "scope": "https://management.azure.com/.default"},
                          verify=env["ca_bundle"], timeout=30).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + token
    session.verify = env["ca_bundle"]
    session.trust_env = False
    return session


def role_vars(world, **more):
    env = world["env"]
    with open(env["lab_ca_cert"], encoding="utf-8") as handle:
        ca_pem = handle.read()
    values = {
        "arc_onboard_environment": azure_environment(env),
        "arc_onboard_resource_group": GROUP,
        "arc_onboard_cluster_name": NAME,
        "arc_onboard_location": env["location"],
        "arc_onboard_kubeconfig": os.path.join(world["cluster"].state_dir, "kubeconfig"),
        "arc_onboard_agent_chart_ref": os.path.join(REPO_ROOT, "lab", "charts", "arc_agent_standin"),
        "arc_onboard_agent_values": {"standin": {"endpoint": world["endpoint_from_pods"], "caBundle": ca_pem,
                                                 "verifyIp": "127.0.0.1", "reportIntervalSeconds": 2}},
        "arc_onboard_key_size": 2048,        # the CLI's 4096 costs seconds of CPU on a loaded CI machine
        "arc_onboard_connect_timeout": 240,
        "arc_onboard_oidc_issuer": True,
        "arc_onboard_workload_identity": True,
        # One listed (the guardrails need it), Flux's added by the role; the other types are unit-tested.
        "arc_onboard_extensions": [{"name": "azurepolicy", "extension_type": "Microsoft.PolicyInsights"}],
        # One guardrail: the defaults' parameters are checked against the same rules in the unit tests.
        "arc_onboard_policy_assignments": [{
            "name": "no-privileged-containers",
            "policy_definition_id": "/providers/Microsoft.Authorization/policyDefinitions/"
                                    "95edb821-ddaf-4404-9732-666045e056b4",
            "parameters": {"effect": "deny", "excludedNamespaces": ["kube-system", "azure-arc"]}}],
        "arc_onboard_flux_configurations": [
            {"name": "pacs-config", "url": "https://git.hospital.example/imaging/pacs-gitops.git", "branch": "main",
             "kustomizations": [{"name": "infra", "path": "./infrastructure", "prune": True},
                                {"name": "pacs", "path": "./apps/pacs", "depends_on": ["infra"]}]}],
    }
    values.update(more)
    return values


def play(world, label, args=(), **more):
    done = run_local_playbook(os.path.join(HERE, "converge.yml"), role_vars(world, **more), world["workdir"], label,
                              timeout=420, args=("--diff",) + tuple(args))
    assert done.returncode == 0, "%s failed:\n%s\n%s" % (label, done.stdout[-6000:], done.stderr[-2000:])
    recap = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", done.stdout)
    return int(recap.group(1)), done.stdout


def kube(world, path):
    import requests
    cluster = world["cluster"]
    token = cluster.kubeconfig("admin")["users"][0]["user"]["token"]
    return requests.get(cluster.api_url + path, headers={"Authorization": "Bearer " + token},
                        verify=cluster.ca_file, timeout=30)


def test_onboard_connect_idempotent_offboard(world):
    env, session = world["env"], world["session"]
    clusters = world["group_url"] + "/providers/Microsoft.Kubernetes/connectedClusters/" + NAME
    changed, out = play(world, "converge")
    assert changed > 0
    cluster = session.get(clusters, params=API).json()
    props = cluster["properties"]
    assert props["connectivityStatus"] == "Connected", cluster            # the stand-in pod proved the key
    assert props["distribution"] == "openshift" and props["agentVersion"] == "0.1.0-lab"
    assert props["oidcIssuerProfile"]["issuerUrl"] and props["securityProfile"]["workloadIdentity"]["enabled"]
    # The key Azure holds is the public half of the one kept in the cluster, and no output shows the private key.
    secret = kube(world, "/api/v1/namespaces/azure-arc/secrets/arc-onboarding-key").json()
    private_pem = base64.b64decode(secret["data"]["privateKey"]).decode()
    assert "PRIVATE KEY" in private_pem and private_pem.splitlines()[1] not in out
    from cryptography.hazmat.primitives import serialization
    public = serialization.load_pem_private_key(private_pem.encode(), None).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert props["agentPublicKeyCertificate"] == base64.b64encode(public).decode()
    grant = kube(world, "/apis/rbac.authorization.k8s.io/v1/namespaces/azure-arc/rolebindings/"
                        "system:openshift:scc:privileged").json()
    assert grant["subjects"][0]["name"] == "azure-arc-kube-aad-proxy-sa"
    pods = kube(world, "/api/v1/namespaces/azure-arc/pods").json()["items"]
    assert pods and pods[0]["metadata"]["annotations"].get("openshift.io/scc") == "restricted-v2"
    extensions = session.get(clusters + "/providers/Microsoft.KubernetesConfiguration/extensions",
                             params={"api-version": "2025-03-01"}).json()["value"]
    assert sorted(e["properties"]["extensionType"].lower() for e in extensions) == [
        "microsoft.flux", "microsoft.policyinsights"]
    flux = session.get(clusters + "/providers/Microsoft.KubernetesConfiguration/fluxConfigurations/pacs-config",
                       params={"api-version": "2025-04-01"}).json()
    assert flux["properties"]["kustomizations"]["pacs"]["dependsOn"] == ["infra"]
    assignments = session.get(clusters + "/providers/Microsoft.Authorization/policyAssignments",
                              params={"api-version": "2026-06-01"}).json()["value"]
    assert [a["name"] for a in assignments] == ["no-privileged-containers"]
    assert assignments[0]["properties"]["parameters"]["effect"] == {"value": "deny"}

    changed, out = play(world, "idempotence")
    assert changed == 0, out[-6000:]

    changed, _out = play(world, "absent", arc_onboard_state="absent")
    assert changed > 0
    assert session.get(clusters, params=API).status_code == 404
    assert session.get(clusters + "/providers/Microsoft.Authorization/policyAssignments/no-privileged-containers",
                       params={"api-version": "2026-06-01"}).status_code == 404
    assert kube(world, "/api/v1/namespaces/azure-arc").status_code == 404
    releases = kube(world, "/api/v1/secrets?labelSelector=owner%3Dhelm").json()["items"]
    assert [r for r in releases if r["metadata"]["namespace"] == "azure-arc"] == []


def test_agents_that_never_report_stop_the_role_with_what_their_pods_do(world):
    """Agents that cannot reach Azure (here: an endpoint where nothing listens) leave the cluster Connecting: the
    role stops after arc_onboard_connect_timeout and names the agents' pods and their state, not just a timeout."""
    silent = "https://%s:1" % urllib.parse.urlsplit(world["endpoint_from_pods"]).hostname
    values = role_vars(world, arc_onboard_connect_timeout=10)
    values["arc_onboard_agent_values"]["standin"]["endpoint"] = silent
    try:
        done = run_local_playbook(os.path.join(HERE, "converge.yml"), values, world["workdir"], "silent-agents",
                                  timeout=420)
        assert done.returncode != 0
        assert "is still Connecting after 10 s" in done.stdout, done.stdout[-4000:]
        assert "have not reported to Azure" in done.stdout and "azure-arc-agent-" in done.stdout, done.stdout[-4000:]
        assert "PRIVATE KEY" not in done.stdout + done.stderr
    finally:
        play(world, "silent-agents-absent", arc_onboard_state="absent")
