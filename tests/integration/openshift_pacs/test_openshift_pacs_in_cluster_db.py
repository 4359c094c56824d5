"""openshift_pacs with its database IN the cluster (the chart's StatefulSet on a claim, lab/images/postgres: Debian's
PostgreSQL 15 as the project's arbitrary UID) and OVN's EgressFirewall on, on the lab's OpenShift-flavoured cluster.

A modality's study lands in that PostgreSQL (read with psql over TLS through the Service's host port: Orthanc's
tables hold it; plain TCP is refused), survives the database pod's restart (its claim), and teardown keeps the claim
unless asked. With the firewall on, the PACS pod reaches the allowed cloud endpoint and not a denied one (two
listeners on the cluster network's gateway, this machine), while it still reaches its in-cluster database."""
import io
import json
import os
import subprocess

import pytest
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # pylint: disable=no-name-in-module

from openshift_pacs_harness import PROJECT, RELEASE, RoleLab, eventually, succeeded

from lab.ca import LabCA
from lab.containers import images
from lab.containers.runtime import podman
from lab.dicom_factory import make_study
from lab.kube.cluster import running_cluster
from lab.kube.contracts import UserInfo
from lab.kube.tcp_endpoint import TcpEndpoint

ADMIN = UserInfo("lab-admin", ("system:masters", "system:authenticated"))
DB_PASSWORD = "lab-in-cluster-db-18b"
DATABASE = RELEASE + "-postgresql"
DB_CLAIM = "data-" + DATABASE + "-0"
STUDY_UID_QUERY = "select value from dicomidentifiers where taggroup = 32 and tagelement = 13"


@pytest.fixture(scope="module")
def role_lab(tmp_path_factory):
    """A cluster of this module's own: its name carries the process id, so that a run of test_openshift_pacs_lab.py
    (or of this module) by someone else on the machine never shares (and cleans up) its pods and network."""
    images.ensure("orthanc")
    images.ensure("postgres")
    with running_cluster("openshift-pacs-db-%d" % (os.getpid() % 100000), "openshift", pods=True) as cluster:
        yield RoleLab(cluster, str(tmp_path_factory.mktemp("openshift-pacs-db")))


@pytest.fixture(scope="module")
def db_lab(role_lab):
    """The project requested beforehand with the database's TLS Secret in it, then one converge."""
    cluster = role_lab.cluster
    cluster.store.create({"apiVersion": "project.openshift.io/v1", "kind": "ProjectRequest",
                          "metadata": {"name": PROJECT}}, ADMIN)
    cert, key = LabCA(cluster.ca_dir).issue_server_cert("pacs-db", sans=(DATABASE, f"{DATABASE}.{PROJECT}.svc"))
    subprocess.run(("kubectl", "--kubeconfig", role_lab.kubeconfig, "-n", PROJECT, "create", "secret", "tls",
                    "pacs-db-tls", "--cert", cert, "--key", key), check=True, capture_output=True, env=role_lab.env)
    allowed, denied = TcpEndpoint(cluster.gateway), TcpEndpoint(cluster.gateway)
    inputs = role_lab.inputs(
        openshift_pacs_database_mode="inCluster", openshift_pacs_database_password=DB_PASSWORD,
        openshift_pacs_database_image_repository="localhost/medimaging/postgres",
        openshift_pacs_database_image_tag="15", openshift_pacs_database_storage_size="1Gi",
        openshift_pacs_database_tls_secret="pacs-db-tls", openshift_pacs_egress_firewall_enabled=True,
        openshift_pacs_cloud_egress=[{"cidr": cluster.gateway + "/32",
                                      "ports": [{"port": allowed.port, "protocol": "TCP"}]}],
        openshift_pacs_wait_timeout=480)   # two pods, one initdb, on a shared 2-core machine
    done = role_lab.play(inputs)
    yield role_lab, inputs, succeeded(done), (allowed.port, denied.port)
    allowed.close()
    denied.close()


def psql(role_lab, query, sslmode="require"):
    port = role_lab.host_port(DATABASE, 5432)
    return subprocess.run(("psql", "-At", "-c", query, f"host=127.0.0.1 port={port} dbname=orthanc user=orthanc "
                           f"sslmode={sslmode} connect_timeout=10"), capture_output=True, text=True, check=False,
                          env=dict(os.environ, PGPASSWORD=DB_PASSWORD))


def pod_of(role_lab, component):
    (pod,) = [p for p in role_lab.cluster.store.list("v1", "pods", PROJECT)
              if p["metadata"]["labels"].get("app.kubernetes.io/component") == component
              and not p["metadata"].get("deletionTimestamp")]
    return pod


def send_study(role_lab, study):
    """The C-STORE statuses of the study's instances (None for an instance without an answer)."""
    ae = AE(ae_title="CTSCANNER")
    ae.add_requested_context(CTImageStorage)
    association = ae.associate("127.0.0.1", role_lab.node_port, ae_title="OSPACS")
    if not association.is_established:
        return []
    try:
        return [getattr(association.send_c_store(ds), "Status", None) for ds in study]
    except RuntimeError:                      # the peer aborted the association (Orthanc restarting)
        return []
    finally:
        association.release()


def store_study(role_lab, patient, seconds=0):
    """A new study stored through the NodePort (retried for `seconds`: Orthanc's first write after its database came
    back may fail while its PostgreSQL plugin reconnects); its StudyInstanceUID."""
    study = [dcmread(io.BytesIO(raw)) for raw in make_study(instances=2, patient_id=patient)]
    statuses = eventually(lambda: (200, send_study(role_lab, study)), lambda answer: answer[1] == [0, 0],
                          seconds=seconds)[1]
    assert statuses == [0x0000, 0x0000]
    return study[0].StudyInstanceUID


def test_the_index_is_in_the_in_cluster_postgresql(db_lab):
    role_lab, _, result, _ = db_lab
    assert result["failed"] == 0
    database = pod_of(role_lab, "postgresql")
    assert database["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"
    assert database["spec"]["containers"][0]["image"] == "localhost/medimaging/postgres:15"
    config = json.loads(role_lab.get("v1", "configmaps", RELEASE)["data"]["orthanc.json"])["PostgreSQL"]
    assert config["Host"] == DATABASE and config["EnableSsl"] is True and DB_PASSWORD not in json.dumps(config)

    uid = store_study(role_lab, "OSDB01")
    tables = psql(role_lab, "select tablename from pg_tables where schemaname = 'public'")
    assert tables.returncode == 0, tables.stderr
    assert {"resources", "maindicomtags", "dicomidentifiers"} <= set(tables.stdout.split())
    assert uid in psql(role_lab, STUDY_UID_QUERY).stdout.split()
    ssl_in_use = psql(role_lab, "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
    assert ssl_in_use.stdout.strip() == "t"
    plain = psql(role_lab, "select 1", sslmode="disable")
    assert plain.returncode != 0 and "no encryption" in plain.stderr          # TLS required


def test_the_egress_firewall_lets_the_pacs_reach_only_the_allowed_endpoint(db_lab):
    role_lab, _, _, (allowed, denied) = db_lab
    gateway = role_lab.cluster.gateway
    firewall = role_lab.get("k8s.ovn.org/v1", "egressfirewalls", "default")["spec"]["egress"]
    assert firewall == [{"type": "Allow", "to": {"cidrSelector": gateway + "/32"},
                         "ports": [{"port": allowed, "protocol": "TCP"}]},
                        {"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}]
    container = "kube-%s_%s_%s_orthanc" % (role_lab.cluster.name, PROJECT, pod_of(role_lab, "pacs")["metadata"]["name"])

    def connects(port):
        probe = f"import socket; socket.create_connection(({gateway!r}, {port}), timeout=3).close()"
        return podman("exec", container, "python3", "-c", probe, check=False).returncode == 0

    assert connects(allowed)
    assert not connects(denied)


def test_a_database_restart_keeps_the_index(db_lab):
    role_lab, _, _, _ = db_lab
    before = pod_of(role_lab, "postgresql")
    uids = psql(role_lab, STUDY_UID_QUERY).stdout.split()
    assert uids
    role_lab.cluster.store.delete("v1", "pods", PROJECT, before["metadata"]["name"], ADMIN)

    def restarted():
        try:
            pod = pod_of(role_lab, "postgresql")
        except ValueError:
            return (0, b"")
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))
        return (200 if ready and pod["metadata"]["uid"] != before["metadata"]["uid"] else 0, b"")

    assert eventually(restarted, lambda answer: answer[0] == 200, seconds=180)[0] == 200
    after = eventually(lambda: (200, psql(role_lab, STUDY_UID_QUERY).stdout.encode()),
                       lambda answer: bool(answer[1]), seconds=60)
    assert after[1].decode().split() == uids                                  # the claim kept the data
    # Orthanc writes to it again (its PostgreSQL plugin reconnects, or the liveness probe restarts it: minutes here)
    uid = store_study(role_lab, "OSDB02", seconds=300)
    assert uid in psql(role_lab, STUDY_UID_QUERY).stdout.split()


def test_absent_keeps_the_database_claim_unless_asked(db_lab):
    role_lab, inputs, _, _ = db_lab
    succeeded(role_lab.play(dict(inputs, openshift_pacs_state="absent")))
    claims = {c["metadata"]["name"] for c in role_lab.cluster.store.list("v1", "persistentvolumeclaims", PROJECT)}
    assert {DB_CLAIM, RELEASE} <= claims
    assert not role_lab.cluster.store.list("apps/v1", "statefulsets", PROJECT)
    assert role_lab.get("k8s.ovn.org/v1", "egressfirewalls", "default") is None
    succeeded(role_lab.play(dict(inputs, openshift_pacs_state="absent", openshift_pacs_remove_pvcs=True)))
    claims = {c["metadata"]["name"] for c in role_lab.cluster.store.list("v1", "persistentvolumeclaims", PROJECT)}
    assert not claims & {DB_CLAIM, RELEASE}
