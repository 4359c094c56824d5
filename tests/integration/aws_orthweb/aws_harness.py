"""The aws_orthweb scenario against a private moto server: run its playbooks, read what moto holds."""
import json
import os
import subprocess
import sys

import boto3

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INVENTORY = os.path.join(REPO_ROOT, "inventories", "aws_lab")


class Scenario:
    """One moto server; playbooks run with ansible-playbook over inventories/aws_lab, as a user would."""

    def __init__(self, moto, workdir):
        self.moto = moto
        self.workdir = workdir
        self.env = dict(os.environ, **moto.environment(), ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"),
                        ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="false", PYTHONDONTWRITEBYTECODE="1",
                        LAB_DIR=workdir,
                        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))

    def play(self, playbook, extra_vars=None, args=(), timeout=600):
        """ansible-playbook playbooks/<playbook> with extra vars from a 0600 file; the completed process."""
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY]
        if extra_vars:
            path = os.path.join(self.workdir, "vars-%d.json" % len(os.listdir(self.workdir)))
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
                json.dump(extra_vars, out)
            command += ["-e", "@" + path]
        command += list(args) + [os.path.join(REPO_ROOT, "playbooks", playbook)]
        return subprocess.run(command, cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def client(self, service):
        return boto3.client(service, endpoint_url=self.moto.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def recap(done):
    """{'ok': n, 'changed': n, 'failed': n, ...} of the single host in a playbook's PLAY RECAP."""
    line = [row for row in done.stdout.splitlines() if " : ok=" in row][-1]
    return {key: int(value) for key, value in (field.split("=") for field in line.split(":", 1)[1].split())}


def succeeded(done):
    assert done.returncode == 0, "ansible-playbook failed (rc=%s):\n%s\n%s" % (
        done.returncode, done.stdout[-5000:], done.stderr[-2000:])
    return recap(done)
