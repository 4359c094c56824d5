"""Run a playbook under playbooks/ with ansible-playbook against the lab (real process, real modules, no fakes)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def azure_environment(lab):
    """The AZURE_* variables that point the collection's Azure modules at the lab (the molecule lab_env.yml set)."""
    return {"AZURE_ARM_ENDPOINT": lab["arm_endpoint"], "AZURE_AUTHORITY_HOST": lab["authority_host"],
            "REQUESTS_CA_BUNDLE": lab["ca_bundle"], "AZURE_SUBSCRIPTION_ID": lab["subscription_id"],
            "AZURE_TENANT_ID": lab["tenant_id"], "AZURE_CLIENT_ID": lab["client_id"],
            "AZURE_CLIENT_SECRET": lab["client_secret"]}


def run_local_playbook(playbook, extra_vars, workdir, label, timeout=300, args=()):
    """ansible-playbook PLAYBOOK on localhost (connection local, this venv's Python) with extra vars from a 0600
    JSON file (they may hold passwords) and extra command-line args (--diff, -vvv...); returns the completed
    process, without judging it."""
    vars_file = os.path.join(workdir, "extra-vars-%s.json" % label)
    with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(extra_vars, handle)
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"), PYTHONDONTWRITEBYTECODE="1",
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1")
    command = [os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable, "-e", "@" + vars_file] + list(args) + [playbook]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def run_playbook(name, extra_vars, workdir, timeout=300):
    """playbooks/<name> with run_local_playbook; asserts it succeeded and returns the completed process."""
    done = run_local_playbook(os.path.join(HERE, "playbooks", name), extra_vars, workdir,
                              os.path.splitext(name)[0], timeout)
    assert done.returncode == 0, "ansible-playbook %s failed (rc=%s):\n%s\n%s" % (
        name, done.returncode, done.stdout[-4000:], done.stderr[-2000:])
    return done
