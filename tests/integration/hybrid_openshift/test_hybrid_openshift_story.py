"""playbooks/hybrid_openshift.yml, unchanged, over inventories/hybrid_openshift_lab: the hybrid story with the PACS on
a lab OpenShift cluster onboarded to the emulator's Azure Arc. One converge for the module; the tests run in order and
tell the story: onboarded (Connected) and deployed under restricted-v2 -> a modality's C-STOREs (DCMTK's storescu)
through the NodePort reach the cloud DICOM service -> the oldest studies move to the Blob archive, verified before
local deletion -> a returning patient's archived prior comes back -> the cluster's link to the cloud is cut (refused,
then silently dropped) while the modality keeps sending, heals, and the backlog drains: nothing lost."""
import json
import os
import time

import sys

import pytest
import requests
from hybrid_openshift_world import CLUSTER, HERE, PROJECT, RELEASE, REPO, running_world, wait_for

from lab.story.places import Archive, Cloud, OnPrem

sys.path.insert(0, os.path.join(REPO, "tests", "integration", "azure"))
from playbook_runner import run_local_playbook  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with running_world(str(tmp_path_factory.mktemp("hybrid-openshift"))) as the_world:
        yield the_world


@pytest.fixture(scope="module")
def deployed(world):
    if world.converge_failed:                      # a module fixture that raised runs again for each test: not here
        pytest.fail("the converge failed (see the first test's error)")
    world.converge_failed = True
    done = world.playbook(label="converge")
    world.converge_failed = False
    dicom = world.resource("Microsoft.HealthcareApis/workspaces/ocplabws/dicomservices/pacs").json()["properties"]
    account = world.resource("Microsoft.Storage/storageAccounts/ocplabarchive").json()["properties"]
    audience = (dicom.get("authenticationConfiguration", {}).get("audiences") or
                ["https://dicom.healthcareapis.azure.com"])[0]
    user, password = world.orthanc_auth()
    places = {
        "onprem": OnPrem(world.orthanc_url(), user, password),
        "cloud": Cloud(dicom["serviceUrl"], world.identity, world.env["ca_bundle"], audience + "/.default"),
        "archive": Archive(account["primaryEndpoints"]["blob"].rstrip("/") + "/studies", world.identity,
                           world.env["ca_bundle"], world.env["authority_host"]),
        "account_url": account["primaryEndpoints"]["blob"],
    }
    return done, places


def where(world, places, studies=None):
    """Per instance of the ledger (or of these studies): on-prem, in the cloud, in the archive, lost."""
    counts = {"instances": 0, "onprem": 0, "cloud": 0, "archive": 0, "lost": 0, "missing_in_cloud": 0}
    for study, record in world.sent.items():
        if studies is not None and study not in studies:
            continue
        wanted = set(record["sop_uids"])
        here, there = places["onprem"].instances(study), places["cloud"].instances(study)
        archived = places["archive"].instances(study)
        counts["instances"] += len(wanted)
        counts["onprem"] += len(wanted & here)
        counts["cloud"] += len(wanted & there)
        counts["archive"] += len(wanted & archived)
        counts["lost"] += len(wanted - here - there - archived)
        counts["missing_in_cloud"] += len(wanted - there)
    return counts


def until_drained(world, places, seconds=300):
    """where() until nothing is missing in the cloud, polled every 2 s, and the polls the PACS's Service refused
    (its pod not Ready: the lab kubelet logs why). A refused poll counts as 'not yet': what is asserted is that
    everything drains and nothing is lost; the refusals go into the failure message."""
    refusals = []

    def attempt():
        try:
            counts = where(world, places)
        except requests.ConnectionError as err:
            refusals.append(str(err))
            return None
        return counts if counts["missing_in_cloud"] == 0 else None
    return wait_for(attempt, seconds), refusals


def pacs_pods(world):
    return world.kube("/api/v1/namespaces/%s/pods" % PROJECT)["items"]


def pacs_containers(world):
    """Per PACS pod: (ready, restarts) of each container: what a failing drill shows beside its refusals."""
    return {p["metadata"]["name"]: [(c.get("ready"), c.get("restartCount")) for c in
                                    p["status"].get("containerStatuses", [])]
            for p in pacs_pods(world)}


def _watch(look, seconds, pause=2):
    """look() every `pause` seconds for `seconds`: what it saw."""
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.append(look())
        time.sleep(pause)
    return seen


def _restarts(containers):
    return {pod: [restarts for _ready, restarts in values] for pod, values in containers.items()}


def router_status(places):
    onprem = places["onprem"]
    return requests.get(onprem.url + "/medimaging/router/status", auth=onprem.auth, timeout=30).json()


def test_onboarded_to_arc_and_the_pacs_deployed_under_restricted_v2(world, deployed):
    cluster = world.resource("Microsoft.Kubernetes/connectedClusters/" + CLUSTER)
    props = cluster.json()["properties"]
    assert props["connectivityStatus"] == "Connected", props      # the stand-in agents proved the role's key
    assert props["distribution"] == "openshift"
    assert props["oidcIssuerProfile"]["issuerUrl"] and props["securityProfile"]["workloadIdentity"]["enabled"]
    pods = world.kube("/api/v1/namespaces/%s/pods" % PROJECT)["items"]
    pacs = [p for p in pods if p["status"].get("phase") == "Running"]
    assert pacs, [p["status"] for p in pods]
    for pod in pacs:                                              # admitted by restricted-v2, not another SCC
        assert pod["metadata"]["annotations"].get("openshift.io/scc") == "restricted-v2"
    _done, places = deployed
    status = router_status(places)
    assert status["state"] == "running", status                   # the router's queue in the hospital's PostgreSQL
    assert "cloud" in status["destinations"]


def _recap(stdout):
    """{host: {'ok': n, 'changed': n, ...}} of every host in the last PLAY RECAP."""
    lines = [text for text in stdout.rsplit("PLAY RECAP", 1)[1].splitlines() if " ok=" in text]
    return {line.split(":", 1)[0].strip(): {key: int(value) for key, value in
                                            (item.split("=") for item in line.split(":", 1)[1].split())}
            for line in lines}


def test_a_second_converge_changes_nothing_and_keeps_the_pacs_pod(world, deployed):
    """Idempotence of the whole story's converge, the PACS's workload identity (identity, federated credential, role
    grants) included: nothing reported changed, and the running PACS pod is the same one (not rolled)."""
    def running():
        return sorted(p["metadata"]["uid"] for p in pacs_pods(world) if p["status"].get("phase") == "Running")
    before = running()
    again = world.playbook(label="second-converge")
    recap = _recap(again.stdout)
    assert recap and all(host["changed"] == 0 and host["failed"] == 0 for host in recap.values()), recap
    assert running() == before


def test_a_modality_sends_through_the_node_port_and_studies_reach_the_cloud(world, deployed):
    _done, places = deployed
    for patient, ages in (("OCP00001", (900, 500, 20)), ("OCP00002", (700, 5))):
        for number, days in enumerate(ages):
            world.send(patient, days, seed=hash((patient, number)) % 1000)
    assert where(world, places)["onprem"] == sum(len(r["sop_uids"]) for r in world.sent.values())
    # DICOM TLS is required: a modality without TLS, or with TLS but no client certificate, stores nothing.
    sent_before = places["onprem"].study_count()
    assert world.send("OCP09999", 1, seed=999, tls=[]).returncode != 0
    assert world.send("OCP09998", 1, seed=998, tls=["+tla", "+cf", world.modality_tls[-1]]).returncode != 0
    assert places["onprem"].study_count() == sent_before
    counts, refusals = until_drained(world, places)
    assert counts, (where(world, places), refusals)               # every instance routed to the cloud


def test_the_plugin_in_the_pod_gets_its_token_by_federated_credential(world, deployed):
    """Arc's workload identity, end to end: openshift_pacs made a user-assigned identity whose federated credential
    names the connected cluster's OIDC issuer and the release's service account; the webhook Arc installs (the connected
    cluster is Connected with workload identity on) gave the pod AZURE_* and the projected token; the plugin in the pod
    exchanged that token at Entra ID (through the site link on the gateway) and every study it routed reached the cloud
    with the identity's token. Another service account's token is refused."""
    import jwt
    _done, places = deployed
    identity = world.resource("Microsoft.ManagedIdentity/userAssignedIdentities/id-hospital-pacs").json()["properties"]
    issuer = world.resource("Microsoft.Kubernetes/connectedClusters/" + CLUSTER).json()[
        "properties"]["oidcIssuerProfile"]["issuerUrl"]
    pod = next(p for p in world.kube("/api/v1/namespaces/%s/pods" % PROJECT)["items"]
               if p["status"].get("phase") == "Running" and p["metadata"]["labels"].get("app.kubernetes.io/component")
               == "pacs")
    account = pod["spec"]["serviceAccountName"]
    subject = "system:serviceaccount:%s:%s" % (PROJECT, account)
    credential = world.resource("Microsoft.ManagedIdentity/userAssignedIdentities/id-hospital-pacs/"
                                "federatedIdentityCredentials/%s-%s" % (PROJECT, RELEASE)).json()["properties"]
    assert (credential["issuer"], credential["subject"]) == (issuer, subject), credential

    # The webhook's work, in the pod as the API admitted it (restricted-v2 still).
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["AZURE_CLIENT_ID"] == identity["clientId"] and env["AZURE_TENANT_ID"] == world.env["tenant_id"]
    assert env["AZURE_FEDERATED_TOKEN_FILE"] == "/var/run/secrets/azure/tokens/azure-identity-token"
    assert env["AZURE_AUTHORITY_HOST"].startswith("https://%s:" % world.cluster.gateway)
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "azure-identity-token")
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "api://AzureADTokenExchange"
    assert pod["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"

    # The plugin's own view: the workload identity provider holds a valid token for the identity.
    onprem = places["onprem"]
    oauth = requests.get(onprem.url + "/medimaging/oauth/status", auth=onprem.auth, timeout=30).json()
    cloud = oauth["servers"]["cloud"]
    assert cloud["provider"] == "workload_identity" and cloud["token_valid"], cloud
    assert cloud["client_id"] == identity["clientId"] and cloud["token_endpoint"].startswith(
        env["AZURE_AUTHORITY_HOST"].rstrip("/")), cloud

    # Entra's and the DICOM service's log: tokens for the identity (a user-assigned identity has no secret: only a
    # client assertion gets one) and the routed studies stored with them.
    with open(world.env["request_log"], encoding="utf-8") as handle:
        log = [json.loads(line) for line in handle if line.strip()]
    mine = [line for line in log if line.get("principal") == identity["principalId"]]
    assert [l for l in mine if l["method"] == "POST" and l["path"].endswith("/oauth2/v2.0/token")
            and l["status"] == 200], "no token issued to the identity"
    stored = [l for l in mine if l["method"] == "POST" and "/v2/studies" in l["path"] and l["status"] in (200, 202)]
    assert stored, "no STOW-RS with the identity's token"
    assert where(world, places)["missing_in_cloud"] == 0

    # Another service account of the same cluster is not the federated subject: refused.
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "spec": {"audiences": ["api://AzureADTokenExchange"], "expirationSeconds": 3600}}
    other = world.kube("/api/v1/namespaces/%s/serviceaccounts/default/token" % PROJECT, request)["status"]["token"]
    assert jwt.decode(other, options={"verify_signature": False})["iss"] == issuer
    refused = requests.post("%s/%s/oauth2/v2.0/token" % (world.env["authority_host"].rstrip("/"),
                                                         world.env["tenant_id"]), timeout=30,
                            verify=world.env["ca_bundle"],
                            data={"grant_type": "client_credentials", "client_id": identity["clientId"],
                                  "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                  "client_assertion": other,
                                  "scope": "https://dicom.healthcareapis.azure.com/.default"})
    assert refused.status_code in (400, 401), refused.text


def test_the_oldest_studies_move_to_the_archive_verified_then_priors_come_back(world, deployed):
    _done, places = deployed
    user, password = world.orthanc_auth()
    extra = {"archive_orthanc_url": places["onprem"].url, "archive_orthanc_user": user,
             "archive_orthanc_password": password, "archive_account_url": places["account_url"],
             "archive_container": "studies", "archive_identity": world.identity,
             "archive_authority_host": world.env["authority_host"], "archive_ca_bundle": world.env["ca_bundle"],
             "archive_counts_file": os.path.join(world.workdir, "archive-counts.json")}
    done = run_local_playbook(os.path.join(HERE, "archive.yml"), extra, world.workdir, "archive", timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    with open(extra["archive_counts_file"], encoding="utf-8") as handle:
        counts = json.load(handle)
    old = {s for s, r in world.sent.items() if r["days_ago"] > 365}
    recent = set(world.sent) - old
    old_instances = sum(len(world.sent[s]["sop_uids"]) for s in old)
    assert counts["studies"] == counts["studies_verified"] == len(old), counts
    assert counts["uploaded"] == counts["deleted_local"] == old_instances and counts["studies_failed"] == 0, counts
    archived = where(world, places, old)
    assert archived["onprem"] == 0 and archived["archive"] == archived["instances"] == archived["cloud"], archived
    kept = where(world, places, recent)
    assert kept["onprem"] == kept["instances"], kept                # recent studies stay local

    # The returning patient (past the 20 s priors window): the archived 500-day study is one of the two most recent
    # priors, so it comes back from the cloud.
    time.sleep(21)
    prior = next(s for s, r in world.sent.items() if r["patient"] == "OCP00001" and r["days_ago"] == 500)
    world.send("OCP00001", 0, seed=901)
    # The priors job fetches a study instance by instance: wait for the whole study, not its first instance.
    expected = set(world.sent[prior]["sop_uids"])
    back = wait_for(lambda: (lambda got: got if got == expected else None)(places["onprem"].instances(prior)), 150)
    assert back == expected, places["onprem"].instances(prior)


def test_outage_drill_the_cluster_egress_cut_then_the_backlog_drains(world, deployed):
    _done, places = deployed
    during = set()
    world.link.cut("reject")                                      # the link refuses: TCP resets at once
    try:
        during.add(world.send("OCP00003", 3, seed=301))
        during.add(world.send("OCP00004", 2, seed=302))
        time.sleep(15)                                             # the router tries and fails fast for a while
        world.link.cut("drop")                                     # then it goes silent: requests time out
        during.add(world.send("OCP00005", 1, seed=303))
        before = pacs_containers(world)
        # Longer than the readiness probe's 3 x 10 s. What the PACS pod's readiness did meanwhile is kept for the
        # failure messages below (the lab kubelet, loaded by CI's other parts, can miss a probe deadline).
        unready = [seen for seen in _watch(lambda: pacs_containers(world), 40)
                   if not all(ready for containers in seen.values() for ready, _restarts in containers)]
        assert _restarts(pacs_containers(world)) == _restarts(before), unready   # the outage killed nothing
        cut = where(world, places, during)
        assert cut["onprem"] == cut["instances"], (cut, unready)   # the site keeps working offline
        assert cut["cloud"] == 0, cut                               # the cut is real
        pending = router_status(places)["destinations"]["cloud"]
        assert pending["pending"] + pending["inflight"] >= 1, pending
    finally:
        world.link.heal()
    drained, refusals = until_drained(world, places)
    assert drained, (where(world, places), refusals, unready, pacs_containers(world))  # all of it in the cloud
    assert drained["lost"] == 0, drained
    status = router_status(places)["destinations"]["cloud"]
    assert status["dead"] == 0, status


def test_teardown_removes_the_pacs_then_offboards_then_the_cloud_side_keeping_the_claims(world, deployed):
    """The same playbook with -e hybrid_state=absent: the PACS first (its claims kept), then the cluster offboarded,
    then the cloud side (the resource group kept: hybrid_remove_resource_group is false)."""
    world.playbook("-e", "hybrid_state=absent", label="teardown")
    assert world.resource("Microsoft.Kubernetes/connectedClusters/" + CLUSTER).status_code == 404
    assert world.kube("/api/v1/namespaces/azure-arc").get("code") == 404
    assert world.resource("Microsoft.HealthcareApis/workspaces/ocplabws/dicomservices/pacs").status_code == 404
    # The PACS's identity (and with it its federated credential) went with the PACS.
    assert world.resource("Microsoft.ManagedIdentity/userAssignedIdentities/id-hospital-pacs").status_code == 404
    assert world.arm.get("%s/subscriptions/%s/resourceGroups/rg-hybrid-ocp-lab" % (
        world.env["arm_endpoint"].rstrip("/"), world.env["subscription_id"]),
        params={"api-version": "2021-04-01"}).status_code == 200
    deployments = world.kube("/apis/apps/v1/namespaces/%s/deployments" % PROJECT)["items"]
    assert deployments == []
    claims = world.kube("/api/v1/namespaces/%s/persistentvolumeclaims" % PROJECT)["items"]
    assert claims, "the patient images' claim must stay unless openshift_pacs_remove_pvcs"
