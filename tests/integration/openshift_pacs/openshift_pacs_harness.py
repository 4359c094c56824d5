"""openshift_pacs against the OpenShift-flavoured lab cluster: ansible-playbook runs of the role, and reads of what the
cluster holds."""
import json
import os
import subprocess
import sys
import time

from lab.containers import images
from lab.kube.node_ports import free_node_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = "openshift-pacs-it"
PROJECT, RELEASE = "hospital-pacs", "pacs"
USERS = {"radiology": "lab-openshift-pacs-1"}
CLOUD_TOKEN = "lab-static-token-for-the-cloud-1"


class RoleLab:
    """The cluster, and ansible-playbook runs of the role against it with the lab's inputs."""

    def __init__(self, cluster, workdir):
        self.cluster, self.workdir = cluster, workdir
        self.kubeconfig = cluster.write_kubeconfigs()["admin"]
        tools = os.path.join(REPO, ".cache", "tools", "bin")
        self.env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_DEPRECATION_WARNINGS="false", PYTHONDONTWRITEBYTECODE="1", HOME=workdir,
                        HELM_CACHE_HOME=workdir + "/helm-cache", HELM_CONFIG_HOME=workdir + "/helm-config",
                        HELM_DATA_HOME=workdir + "/helm-data",
                        PATH=os.pathsep.join((tools, os.path.dirname(sys.executable), os.environ["PATH"])))
        self.runs = 0
        self.node_port = free_node_port()

    def inputs(self, **overrides):
        """The role's inputs in the lab: the lab's image, no PostgreSQL image (SQLite), small claims."""
        repository, _, tag = images.IMAGES["orthanc"].tag.rpartition(":")
        inputs = {
            "openshift_pacs_kubeconfig": self.kubeconfig,
            "openshift_pacs_project": PROJECT,
            "openshift_pacs_release": RELEASE,
            "openshift_pacs_image_repository": repository,
            "openshift_pacs_image_tag": tag,
            "openshift_pacs_image_pull_policy": "Never",
            "openshift_pacs_name": "OpenShift PACS (lab)",
            "openshift_pacs_dicom_aet": "OSPACS",
            "openshift_pacs_users": USERS,
            "openshift_pacs_database_mode": "sqlite",
            "openshift_pacs_storage_size": "1Gi",
            "openshift_pacs_dicom_node_port": self.node_port,
            "openshift_pacs_modality_cidrs": ["10.20.30.0/24"],
            "openshift_pacs_resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                         "limits": {"cpu": "1", "memory": "512Mi"}},
            "openshift_pacs_wait_timeout": 240,
            "openshift_pacs_chart_values": {"terminationGracePeriodSeconds": 5},
            # The plugin's sections as orthanc_host takes them, with the secret as a file: a static-token server
            # (the lab has no PostgreSQL image for the router's queue, and reaches no cloud from this test).
            "openshift_pacs_secret_files": {"cloud-token": CLOUD_TOKEN},
            "openshift_pacs_plugin_sections": {"DicomWebOAuth": {"Servers": {"cloud": {
                "Url": "https://dicom.cloud.invalid/v2/",
                "StaticTokenFile": "/run/medimaging/secrets/cloud-token"}}}},
        }
        inputs.update(overrides)
        return inputs

    def play(self, inputs, *args, playbook="pacs.yml", timeout=600):
        """ansible-playbook of the role with these inputs (a 0600 file: they hold passwords)."""
        return self.play_together([(inputs, args)], playbook=playbook, timeout=timeout)[0]

    def play_together(self, runs, playbook="pacs.yml", timeout=600):
        """Several ansible-playbook runs [(inputs, args)] at once (they mostly wait on the API): their results."""
        started = []
        for inputs, args in runs:
            self.runs += 1
            path = os.path.join(self.workdir, "inputs-%d.json" % self.runs)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
                json.dump(inputs, out)
            command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                       "-e", "@" + path, *args, os.path.join(HERE, "playbooks", playbook)]
            started.append((command, subprocess.Popen(command, cwd=REPO, env=self.env, stdout=subprocess.PIPE,
                                                      stderr=subprocess.PIPE, text=True)))
        results = []
        for command, process in started:
            stdout, stderr = process.communicate(timeout=timeout)
            results.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
        return results

    def get(self, api_version, plural, name, namespace=PROJECT):
        return self.cluster.store.get(api_version, plural, namespace, name)

    def host_port(self, service, port):
        """The 127.0.0.1 port the lab's service network gives a Service port."""
        found = self.get("v1", "services", service)
        return json.loads(found["metadata"]["annotations"]["lab.medimaging.io/host-ports"])[str(port)]



def eventually(attempt, done, seconds=60):
    """attempt() until done(its answer) or the time is up (then the last answer); a refused connection is (0, b"")."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = attempt()
        except OSError:
            answer = (0, b"")
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(1)


def recap(done):
    """{'ok': n, 'changed': n, 'failed': n, ...} of the run's PLAY RECAP (one host)."""
    line = [row for row in done.stdout.splitlines() if " : ok=" in row][-1]
    return {key: int(value) for key, value in (field.split("=") for field in line.split(":", 1)[1].split())}


def succeeded(done):
    assert done.returncode == 0, "ansible-playbook failed (rc=%s):\n%s\n%s" % (
        done.returncode, done.stdout[-6000:], done.stderr[-2000:])
    return recap(done)
