"""Run a playbook inside the execution environment the way AWX runs a job: ansible-runner over a private data dir.

What AWX writes, and so what this writes (awx/main/tasks/jobs.py, awx/main/utils/safe_yaml.py):
- project/: the project checkout (here: ansible.cfg, playbooks/, roles/ of this repository);
- inventory/hosts: an executable script printing the inventory as JSON (groups, vars, _meta.hostvars);
- env/extravars: survey answers and extra vars as YAML, every string tagged !unsafe (never templated), next to the
  awx_* / tower_* meta variables, which AWX leaves safe;
- env/envvars: what credentials inject (env), JOB_ID, INVENTORY_ID, PROJECT_REVISION, AWX_PRIVATE_DATA_DIR, and the
  collections/roles paths AWX computes (requirements dirs first, then the project's ansible.cfg roles_path);
- credential files (here: the CA bundle) inside the private data dir, named by their path in the container;
- env/settings: process isolation through podman with the EE image (AWX's container options).
"""
import configparser
import json
import os
import shutil
import stat

import yaml

from lab.containers.runtime import REPO_ROOT, owner_label, podman_env

CONTAINER_ROOT = "/runner"
PROJECT_FILES = ("ansible.cfg", "playbooks", "roles")


class Unsafe(str):
    """A string AWX tags !unsafe in extravars."""


def _unsafe_representer(dumper, data):
    return dumper.represent_scalar("!unsafe", str(data))


class ExtravarsDumper(yaml.SafeDumper):
    pass


ExtravarsDumper.add_representer(Unsafe, _unsafe_representer)


def mark_unsafe(value):
    """Survey answers as AWX writes them: every string (also inside lists and dicts) unsafe, numbers as they are."""
    if isinstance(value, str):
        return Unsafe(value)
    if isinstance(value, list):
        return [mark_unsafe(v) for v in value]
    if isinstance(value, dict):
        return {k: mark_unsafe(v) for k, v in value.items()}
    return value


def meta_vars(job):
    """The awx_* variables AWX adds to every job (and their tower_* twins)."""
    values = {"job_id": job["id"], "job_launch_type": "manual", "job_template_id": job["template_id"],
              "job_template_name": job["template_name"], "user_id": 1, "user_name": "admin",
              "user_email": "", "user_first_name": "", "user_last_name": "",
              "project_revision": job.get("revision", "lab"), "project_scm_branch": "main",
              "inventory_id": job["inventory_id"], "inventory_name": job["inventory_name"],
              "execution_node": "lab-ee", "job_type": "run"}
    return {f"{prefix}_{k}": v for prefix in ("awx", "tower") for k, v in values.items()}


def write_inventory_script(path, inventory):
    """AWX's inventory: a script that prints the JSON ansible-inventory reads (scripts are run, not parsed)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nimport json\n\n"
                     f"print(json.dumps(json.loads({json.dumps(json.dumps(inventory))})))\n")
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def awx_paths(project_dir):
    """ANSIBLE_COLLECTIONS_PATHS / ANSIBLE_ROLES_PATH as AWX computes them for a job in a container."""
    config = configparser.ConfigParser()
    config.read(os.path.join(project_dir, "ansible.cfg"))
    env = {}
    for key, setting, folder, default in (
            ("ANSIBLE_COLLECTIONS_PATHS", "collections_paths", "requirements_collections",
             "~/.ansible/collections:/usr/share/ansible/collections"),
            ("ANSIBLE_ROLES_PATH", "roles_path", "requirements_roles",
             "~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles")):
        paths = default.split(":")
        if config.has_option("defaults", setting):
            paths = [config.get("defaults", setting)] + paths
        env[key] = ":".join([f"{CONTAINER_ROOT}/{folder}"] + paths)
    return env


def prepare(private_data_dir, job, image, owner):
    """Write the private data dir for `job`: {id, template_id, template_name, inventory_id, inventory_name,
    playbook, limit, inventory (script JSON), survey (answers), credential_env, credential_files {name: path}}."""
    os.makedirs(os.path.join(private_data_dir, "env"), exist_ok=True)
    os.makedirs(os.path.join(private_data_dir, "inventory"), exist_ok=True)
    project = os.path.join(private_data_dir, "project")
    for name in PROJECT_FILES:
        source, target = os.path.join(REPO_ROOT, name), os.path.join(project, name)
        if os.path.isdir(source):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            os.makedirs(project, exist_ok=True)
            shutil.copy2(source, target)
    write_inventory_script(os.path.join(private_data_dir, "inventory", "hosts"), job["inventory"])

    extravars = dict(mark_unsafe(job.get("survey", {})), **meta_vars(job))
    _write_job_file(os.path.join(private_data_dir, "env", "extravars"),
                   yaml.dump(extravars, Dumper=ExtravarsDumper, default_flow_style=False))

    envvars = {"JOB_ID": str(job["id"]), "INVENTORY_ID": str(job["inventory_id"]),
               "PROJECT_REVISION": job.get("revision", "lab"), "AWX_PRIVATE_DATA_DIR": CONTAINER_ROOT,
               "ANSIBLE_FORCE_COLOR": "False", "ANSIBLE_HOST_KEY_CHECKING": "False",
               "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
               "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_SSH_CONTROL_PATH_DIR": "/runner/cp",
               "PYTHONUNBUFFERED": "1", **awx_paths(project)}
    for name, source in (job.get("credential_files") or {}).items():
        shutil.copyfile(source, os.path.join(private_data_dir, "env", name))
    envvars.update(job.get("credential_env") or {})
    _write_job_file(os.path.join(private_data_dir, "env", "envvars"), yaml.safe_dump(envvars))

    settings = {"process_isolation": True, "process_isolation_executable": "podman", "container_image": image,
                # The lab's options: the host network (the lab listens on 127.0.0.1) and the owner label every lab
                # container carries; ansible-runner adds the rest (--rm, the /runner mount, the env file).
                "container_options": ["--network=host", f"--label={owner_label(owner)}", "--quiet"],
                "job_timeout": job.get("timeout", 900), "suppress_ansible_output": True}
    _write_job_file(os.path.join(private_data_dir, "env", "settings"), yaml.safe_dump(settings))
    # The EE runs as its own user (1000): it must read the project and write artifacts, like AWX's work dirs.
    for root, dirs, files in os.walk(private_data_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode | (0o755 if os.path.isdir(path) else 0o004))
    os.chmod(private_data_dir, 0o777)
    # ansible-playbook's event callback writes the events into the mounted artifacts folder from inside the container.
    events = os.path.join(private_data_dir, "artifacts", ident(job), "job_events")
    os.makedirs(events)
    for path in (os.path.dirname(os.path.dirname(events)), os.path.dirname(events), events):
        os.chmod(path, 0o777)


def _write_job_file(path, text):
    """Readable by the EE's user (uid 1000 in the container); the folder that holds the private data dir is 0700."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "w", encoding="utf-8") as handle:
        handle.write(text)


def ident(job):
    return f"job{job['id']}"


def run(private_data_dir, job):
    """ansible-runner in-process over the private data dir; returns the Runner (status, rc, stats, events)."""
    import ansible_runner
    os.environ.update({k: v for k, v in podman_env().items() if k.startswith("CONTAINERS_")})
    return ansible_runner.run(private_data_dir=private_data_dir, playbook=job["playbook"],
                              limit=job.get("limit"), ident=ident(job), quiet=True)
