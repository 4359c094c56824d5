"""The lab world of the OpenShift hybrid scenario: a throwaway lab (emulator, PostgreSQL, Azurite), an OpenShift-flavoured
lab cluster whose pods run on podman (state in $LAB_DIR/kube/NAME, so the emulator backs the Arc connected cluster with
it), the site link from the pods to the cloud side (lab/openshift_site.py), and ansible-playbook of
playbooks/hybrid_openshift.yml over inventories/hybrid_openshift_lab, unchanged."""
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests

from lab.app_registration import ensure as app_registration
from lab.ca import LabCA
from lab.containers import images
from lab.containers.runtime import remove_labelled
from lab.dicom_factory import make_study
from lab.kube.cluster import Cluster
from lab.kube.kubelet import cluster_owner
from lab.openshift_site import CloudLink, TcpRelay
from lab.kube.node_ports import free_node_port
from lab.throwaway import throwaway_lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = os.path.join(REPO, "playbooks", "hybrid_openshift.yml")
INVENTORY = os.path.join(REPO, "inventories", "hybrid_openshift_lab")
CLUSTER = "ocp-hybrid-lab"            # inventories/hybrid_openshift_lab names it
GROUP, PROJECT, RELEASE, AET = "rg-hybrid-ocp-lab", "radiology-pacs", "pacs", "HOSPITALPACS"
STORESCU = "/usr/bin/storescu"        # DCMTK's (pynetdicom's console script of the same name shadows it in .venv/bin)


class World:
    def __init__(self, lab, env, cluster, link, workdir):
        self.lab, self.env, self.cluster, self.link, self.workdir = lab, env, cluster, link, workdir
        self.identity = app_registration("orthanc-onprem", env["lab_dir"])
        self.node_port = free_node_port()
        self.arm = arm_session(env)
        self.sent = {}                 # study UID -> {patient, date, sop_uids}: the ledger of what the modality sent
        self.modality_tls = []         # storescu's TLS options (a client certificate of the lab CA)
        self.converge_failed = False

    # ---- the scenario ----
    def playbook(self, *args, label="run", timeout=1200):
        """ansible-playbook -i inventories/hybrid_openshift_lab playbooks/hybrid_openshift.yml ARGS."""
        bindir = os.path.dirname(sys.executable)
        env = dict(os.environ, LAB_DIR=self.env["lab_dir"], ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1", PYTHONDONTWRITEBYTECODE="1", HOME=self.workdir,
                   HELM_CACHE_HOME=self.workdir + "/helm-cache", HELM_CONFIG_HOME=self.workdir + "/helm-config",
                   HELM_DATA_HOME=self.workdir + "/helm-data",
                   PATH=os.pathsep.join((bindir, os.path.join(REPO, ".cache", "tools", "bin"), os.environ["PATH"])))
        # The inventory's lookups (a subprocess each) resolved once, and the node port free on this machine.
        facts = os.path.join(self.workdir, "lab-facts.json")
        with open(os.open(facts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump({"lab_azure": self.env, "orthanc_identity": self.identity,
                       "openshift_lab_gateway": self.cluster.gateway,
                       "openshift_pacs_dicom_node_port": self.node_port}, handle)
        command = [os.path.join(bindir, "ansible-playbook"), "-i", INVENTORY, "-e", "@" + facts, *args, PLAYBOOK]
        started = time.monotonic()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        print("%s: %.1f s" % (label, time.monotonic() - started))
        with open(os.path.join(self.workdir, label + ".log"), "w", encoding="utf-8") as handle:
            handle.write(done.stdout + done.stderr)
        assert done.returncode == 0, "%s failed:\n%s\n%s" % (label, done.stdout[-8000:], done.stderr[-2000:])
        return done

    # ---- reading what the scenario made ----
    def resource(self, provider_path, method="GET", body=None):
        """An ARM resource of the scenario's resource group, with an api-version its provider lists."""
        namespace = provider_path.split("/", 1)[0]
        kinds = "/".join(part for index, part in enumerate(provider_path.split("/")[1:]) if index % 2 == 0)
        sub = "/subscriptions/" + self.env["subscription_id"]
        listing = self.arm.get(self.env["arm_endpoint"].rstrip("/") + sub + "/providers/" + namespace,
                               params={"api-version": "2021-04-01"}).json()
        version = next(t["apiVersions"][0] for t in listing["resourceTypes"]
                       if t["resourceType"].lower() == kinds.lower())
        return self.arm.request(method, "%s%s/resourceGroups/%s/providers/%s" % (
            self.env["arm_endpoint"].rstrip("/"), sub, GROUP, provider_path), params={"api-version": version},
            json=body)

    def kube(self, path, body=None):
        token = self.cluster.kubeconfig("admin")["users"][0]["user"]["token"]
        return requests.request("POST" if body else "GET", self.cluster.api_url + path, json=body,
                                headers={"Authorization": "Bearer " + token}, verify=self.cluster.ca_file,
                                timeout=30).json()

    def orthanc_url(self):
        """The PACS's HTTP Service as the lab's service network gives it to this machine (127.0.0.1)."""
        service = self.kube("/api/v1/namespaces/%s/services/%s" % (PROJECT, RELEASE))
        port = service["spec"]["ports"][0]["port"]
        return "http://127.0.0.1:%s" % json.loads(service["metadata"]["annotations"]["lab.medimaging.io/host-ports"])[
            str(port)]

    def orthanc_auth(self):
        with open(os.path.join(self.env["lab_dir"], "ocp-lab", "radiology-password"), encoding="utf-8") as handle:
            return "radiology", handle.read().split()[0]

    # ---- the modality ----
    def send(self, patient, days_ago, instances=3, seed=0, tls=None):
        """One study C-STOREd by DCMTK's storescu through the NodePort (DICOM TLS with the modality's certificate
        unless tls says otherwise); recorded in the ledger. tls=[] sends without TLS and returns storescu's result."""
        import datetime
        files = make_study(instances=instances, patient_id=patient, patient_name="LAB^" + patient, modality="CT",
                           study_date=datetime.date.today() - datetime.timedelta(days=days_ago), station_ae="LABCT",
                           seed=seed, rows=64, columns=64)
        from pydicom import dcmread
        import io
        folder = tempfile.mkdtemp(dir=self.workdir)
        paths, sops = [], []
        for number, raw in enumerate(files):
            paths.append(os.path.join(folder, "%d.dcm" % number))
            with open(paths[-1], "wb") as handle:
                handle.write(raw)
            dataset = dcmread(io.BytesIO(raw))
            sops.append(str(dataset.SOPInstanceUID))
        options = self.modality_tls if tls is None else tls
        done = subprocess.run([STORESCU, *options, "-to", "20", "-aet", "LABCT", "-aec", AET, "127.0.0.1",
                               str(self.node_port), *paths], capture_output=True, text=True, timeout=120, check=False)
        if tls is not None:
            return done
        assert done.returncode == 0, "storescu failed: %s %s" % (done.stdout, done.stderr)
        study = str(dataset.StudyInstanceUID)
        self.sent[study] = {"patient": patient, "days_ago": days_ago, "sop_uids": sops}
        return study


@contextlib.contextmanager
def running_world(workdir):
    """The lab, the cluster and the site link; all stopped and removed after."""
    images.ensure("orthanc")
    images.ensure("debian-trixie")
    remove_labelled(cluster_owner(CLUSTER))            # a crashed earlier run's pods and network
    with throwaway_lab("medimaging-hybrid-ocp-") as lab:
        env = lab.env()
        # Arc's workload identity webhook on when the connected cluster says so; the site link (below) offers Entra
        # on the gateway, as the rest of the cloud (so the outage drill cuts it too).
        cluster = Cluster(CLUSTER, os.path.join(env["lab_dir"], "kube", CLUSTER), lab.layout.ca_dir, "openshift",
                          pods=True, flavour_options={"workload_identity_relay": False})
        link = relay = None
        try:
            cluster.start()                            # writes the issuer file the emulator reads for Arc's OIDC
            cluster.write_kubeconfigs()
            link = CloudLink(cluster.gateway, urllib.parse.urlsplit(env["arm_endpoint"]).port,
                             lab.layout.ca_dir).start()
            relay = TcpRelay(cluster.gateway, env["postgres_port"]).start()
            hospital_database(lab, env)
            world = World(lab, env, cluster, link, workdir)
            world.modality_tls = dicom_tls(lab, env)
            yield world
        finally:
            if link is not None:
                link.shutdown()
            if relay is not None:
                relay.stop()
            cluster.stop()
            remove_labelled(cluster_owner(CLUSTER))


def hospital_database(lab, env):
    """The hospital's PostgreSQL database for the PACS (index and the router's queue), with the password the
    inventory's password lookup reads from $LAB_DIR/ocp-lab/pg-password."""
    password = "".join(random.SystemRandom().choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                       for _ in range(24))
    folder = os.path.join(env["lab_dir"], "ocp-lab")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    with open(os.open(os.path.join(folder, "pg-password"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
              encoding="utf-8") as handle:
        handle.write(password + "\n")
    postgres = lab.parts(lab.facts())["postgres"]
    postgres.create_role("orthanc_ocp", password)
    postgres.create_database("orthanc_ocp", "orthanc_ocp")


def dicom_tls(lab, env):
    """The PACS's DICOM TLS certificate where the inventory reads it ($LAB_DIR/ocp-lab), and the modality's client
    certificate, both of the lab CA: the storescu options of a modality that trusts the lab CA."""
    ca = LabCA(lab.layout.ca_dir)
    cert, key = ca.issue_server_cert("ocp-pacs-dicom", sans=("127.0.0.1", "localhost"))
    folder = os.path.join(env["lab_dir"], "ocp-lab")
    for source, name in ((cert, "dicom-tls.pem"), (key, "dicom-tls.key")):
        shutil.copyfile(source, os.path.join(folder, name))
        os.chmod(os.path.join(folder, name), 0o600)
    client_cert, client_key = ca.issue_client_cert("ocp-modality", common_name="LABCT")
    return ["+tls", client_key, client_cert, "+cf", ca.cert_path]


def arm_session(env):
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



def wait_for(attempt, seconds, pause=2):
    """attempt() until it returns something true or the time is up; its last answer."""
    deadline = time.monotonic() + seconds
    while True:
        answer = attempt()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(pause)
