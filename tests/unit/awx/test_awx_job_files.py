"""lab/ee/awx_job writes a private data dir as AWX does: checked with Ansible's own loader and by running the script."""
import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import is_trusted_as_template

from lab.ee import awx_job
from lab.ee.image import galaxy_requirements, lab_definition

JOB = {"id": 7, "template_id": 11, "template_name": "Orthanc hybrid - cloud side", "inventory_id": 3,
       "inventory_name": "Hybrid", "playbook": "playbooks/hybrid.yml", "limit": "azure",
       "inventory": {"all": {"children": ["azure"]}, "azure": {"hosts": ["cloud"], "vars": {"a": "{{ b }}"}},
                     "_meta": {"hostvars": {"cloud": {"ansible_connection": "local"}}}},
       "survey": {"hybrid_state": "present", "days": 365, "names": ["{{ lookup('env', 'HOME') }}"]},
       "credential_env": {"AZURE_CLIENT_ID": "id"}}


@pytest.fixture(scope="module")
def private_data_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("pdd"))
    awx_job.prepare(path, JOB, "localhost/medimaging/orthanc-ee:lab", "unit-awx")
    return path


def read(private_data_dir, *parts):
    with open(os.path.join(private_data_dir, *parts), encoding="utf-8") as handle:
        return handle.read()


def test_survey_answers_are_unsafe_and_meta_variables_are_not(private_data_dir):
    # As ansible-playbook loads `-e @env/extravars` (ansible-runner passes it so): trusted unless tagged !unsafe.
    extravars = DataLoader().load_from_file(os.path.join(private_data_dir, "env", "extravars"),
                                            trusted_as_template=True)
    assert extravars["hybrid_state"] == "present" and not is_trusted_as_template(extravars["hybrid_state"])
    assert not is_trusted_as_template(extravars["names"][0])  # a template in an answer is never evaluated
    assert extravars["days"] == 365
    assert extravars["awx_job_id"] == 7 and extravars["tower_job_template_name"] == JOB["template_name"]
    assert is_trusted_as_template(extravars["awx_job_template_name"])


def test_the_inventory_is_an_executable_script(private_data_dir):
    script = os.path.join(private_data_dir, "inventory", "hosts")
    done = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == JOB["inventory"]
    assert os.access(script, os.X_OK) and read(private_data_dir, "inventory", "hosts").startswith("#! /usr/bin/env")


def test_environment_and_settings_are_awx_s(private_data_dir):
    envvars = yaml.safe_load(read(private_data_dir, "env", "envvars"))
    assert envvars["JOB_ID"] == "7" and envvars["AWX_PRIVATE_DATA_DIR"] == "/runner"
    assert envvars["AZURE_CLIENT_ID"] == "id"
    # The requirements folders first, the project's ansible.cfg roles_path next, then the defaults (as AWX).
    assert envvars["ANSIBLE_ROLES_PATH"].split(":")[:2] == ["/runner/requirements_roles", "./roles"]
    assert envvars["ANSIBLE_COLLECTIONS_PATHS"].split(":")[0] == "/runner/requirements_collections"
    settings = yaml.safe_load(read(private_data_dir, "env", "settings"))
    assert settings["process_isolation"] and settings["process_isolation_executable"] == "podman"
    assert "--label=io.medimaging.lab=unit-awx" in settings["container_options"]
    assert os.path.isfile(os.path.join(private_data_dir, "project", "playbooks", "hybrid.yml"))


def test_the_lab_definition_changes_only_where_the_collections_come_from():
    definition = lab_definition("medimaging-orthanc-0.1.0.tar.gz")
    assert definition["version"] == 3
    assert definition["images"]["base_image"]["name"].startswith("quay.io/ansible/")  # users' base stays
    assert definition["dependencies"]["galaxy"] == {
        "collections": [{"name": "collections/medimaging-orthanc-0.1.0.tar.gz", "type": "file"}]}
    assert "python" not in definition["dependencies"]  # they come by introspecting the installed collection
    assert {"medimaging.orthanc", "kubernetes.core", "amazon.aws"} <= {r["name"] for r in galaxy_requirements()}
