"""The lab of the production AKS scenario, for its integration test and bench/aks_helm_rollout.py: a throwaway lab
(the Azure emulator, PostgreSQL, Azurite) and an AKS-flavoured lab cluster whose pods run on podman, backing the
managed cluster the role creates (its tag lab-cluster); the lab's PostgreSQL relayed to the pod network's gateway
(the AKS flavour already relays the emulator there); ansible-playbook of playbooks/azure_production_aks.yml over
inventories/aks_lab."""
import contextlib
import json
import os
import subprocess
import sys
import time

from lab.containers import images
from lab.containers.runtime import remove_labelled
from lab.kube.cluster import Cluster
from lab.kube.kubelet import cluster_owner
from lab.throwaway import throwaway_lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, "playbooks", "azure_production_aks.yml")
INVENTORY = os.path.join(REPO, "inventories", "aks_lab")
CLUSTER = "aks-helm-scenario"  # its own name: the podman network, labels and subnet derive from it


class AksLab:
    """The lab, the cluster behind the managed cluster, and ansible-playbook over the lab inventory."""

    def __init__(self, lab, env, cluster, workdir):
        self.lab, self.env, self.cluster, self.workdir = lab, env, cluster, workdir

    def playbook(self, *args, label="run", timeout=600):
        """ansible-playbook -i inventories/aks_lab playbooks/azure_production_aks.yml ARGS: (process, recap)."""
        bindir = os.path.dirname(sys.executable)
        env = dict(os.environ, LAB_DIR=self.env["lab_dir"], ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PYTHONDONTWRITEBYTECODE="1", HOME=self.workdir,
                   PATH=os.pathsep.join((bindir, os.path.join(REPO, ".cache", "tools", "bin"), os.environ["PATH"])))
        # The lab's facts once, as extra vars: the inventory would run `python -m lab env` at every use.
        facts = os.path.join(self.workdir, "lab-facts.json")
        with open(os.open(facts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump({"lab_azure": self.env, "aks_lab_cluster": CLUSTER, "aks_lab_gateway": self.cluster.gateway},
                      handle)
        command = [os.path.join(bindir, "ansible-playbook"), "-i", INVENTORY, "-e", "@" + facts] + list(args) + [
            PLAYBOOK]
        started = time.monotonic()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        print("%s: %.1f s" % (label, time.monotonic() - started))
        with open(os.path.join(self.workdir, label + ".log"), "w", encoding="utf-8") as handle:
            handle.write(done.stdout + done.stderr)
        assert done.returncode == 0, "%s failed:\n%s\n%s" % (label, done.stdout[-6000:], done.stderr[-2000:])
        return done, recap(done.stdout)


    def helm_values(self, namespace, release):
        """`helm get values` of the release: what helm stores (and would show anyone who can read the Secret)."""
        home = os.path.join(self.workdir, "helm")
        env = dict(os.environ, HOME=home, HELM_CACHE_HOME=home + "/cache", HELM_CONFIG_HOME=home + "/config",
                   HELM_DATA_HOME=home + "/data")
        done = subprocess.run([os.path.join(REPO, ".cache", "tools", "bin", "helm"), "get", "values", release, "-n",
                               namespace, "-o", "json", "--kubeconfig", self.cluster.write_kubeconfigs()["admin"]],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout)


def recap(stdout):
    """{'ok': n, 'changed': n, ...} of the one host in PLAY RECAP."""
    line = next(text for text in stdout.rsplit("PLAY RECAP", 1)[1].splitlines() if " ok=" in text)
    return {key: int(value) for key, value in (item.split("=") for item in line.split(":", 1)[1].split())}


@contextlib.contextmanager
def running_aks_lab(workdir):
    """The lab, the cluster and the relay; all stopped and removed after."""
    images.ensure("orthanc")
    remove_labelled(cluster_owner(CLUSTER))            # a crashed earlier run's pods and network
    with throwaway_lab("medimaging-aks-helm-") as lab:
        env = lab.env()
        # Where the emulator looks for the lab cluster behind a managed cluster tagged lab-cluster=CLUSTER.
        state = os.path.join(env["lab_dir"], "kube", CLUSTER)
        cluster = Cluster(CLUSTER, state, lab.layout.ca_dir, "aks", pods=True)
        relay = None
        try:
            cluster.start()  # writes the issuer file the emulator reads
            relay = subprocess.Popen(  # pylint: disable=consider-using-with - stopped below by its PID
                [sys.executable, "-m", "lab.site.relay", "--listen", cluster.gateway, "--port",
                 str(env["postgres_port"])], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            yield AksLab(lab, env, cluster, workdir)
        finally:
            if relay is not None:
                relay.terminate()
                relay.wait(timeout=10)
            cluster.stop()
            remove_labelled(cluster_owner(CLUSTER))
