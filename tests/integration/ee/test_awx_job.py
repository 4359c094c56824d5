"""The cloud side of playbooks/hybrid.yml runs inside the collection's EE exactly as AWX runs the job template
"Orthanc hybrid - cloud side" (awx/medimaging-orthanc.yml): ansible-runner, a private data dir with the template's
survey defaults as unsafe extra vars, the awx_* meta variables, an executable inventory script, the credential type's
environment, process isolation through podman. Against the lab's Azure emulator: converges, then changes nothing.

The EE takes minutes to build (lab/ee): `make ee` builds it and runs this test; `make test` skips it.
"""
import json
import os
import secrets
import warnings

import pytest
import yaml

from lab.containers.images import built_digest
from lab.containers.runtime import remove_labelled
from lab.ee import awx_job
from lab.ee.image import TAG, ee_digest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OWNER = "ee-awx-job"
TEMPLATE = "Orthanc hybrid - cloud side"

# `make ee` builds the image from this tree, then runs this test with LAB_EE=1 (about 2 min 20 s: three jobs, each a
# container); `make test` leaves it out (CI time). An image built from an older tree still runs (a warning says so).
pytestmark = pytest.mark.skipif(os.environ.get("LAB_EE") != "1" or built_digest(TAG) is None,
                                reason="runs under `make ee`, which builds the EE first (LAB_EE=1)")


@pytest.fixture(scope="module", autouse=True)
def current_image():
    if built_digest(TAG) != ee_digest():
        warnings.warn(f"{TAG} was built from an older tree: `make ee` rebuilds it")


def template():
    with open(os.path.join(REPO_ROOT, "awx", "medimaging-orthanc.yml"), encoding="utf-8") as handle:
        content = yaml.safe_load(handle)
    return next(t for t in content["job_templates"] if t["name"] == TEMPLATE)


def survey_defaults(**answers):
    spec = template()["related"]["survey_spec"]["spec"]
    return {**{q["variable"]: q["default"] for q in spec}, **answers}


@pytest.fixture(scope="module")
def names():
    suffix = secrets.token_hex(3)
    return {"group": f"rg-ee-{suffix}", "workspace": f"eews{suffix}", "account": f"eearchive{suffix}"}


def job(lab, names, job_id, survey):
    """What AWX hands ansible-runner for the template: inventory (the hybrid_example shape, lab values), credential."""
    azure_vars = {
        "hybrid_resource_group": names["group"],
        "azure_dicom_resource_group": "{{ hybrid_resource_group }}", "azure_dicom_location": lab["location"],
        "azure_dicom_workspace_name": names["workspace"], "azure_dicom_service_name": "pacs",
        "azure_dicom_orthanc_principal_id": lab["principal_id"],
        "blob_archive_resource_group": "{{ hybrid_resource_group }}", "blob_archive_location": lab["location"],
        "blob_archive_account_name": names["account"], "blob_archive_container_name": "studies",
        "blob_archive_writer_principal_id": lab["principal_id"]}
    return {
        "id": job_id, "template_id": 11, "template_name": TEMPLATE, "inventory_id": 3,
        "inventory_name": "Hybrid (hospital PACS + Azure)", "playbook": template()["playbook"],
        "limit": template()["limit"],
        "inventory": {"all": {"children": ["azure", "onprem", "ungrouped"]},
                      "azure": {"hosts": ["azure-cloud"], "vars": azure_vars},
                      "onprem": {"hosts": []},
                      "_meta": {"hostvars": {"azure-cloud": {
                          "ansible_connection": "local",
                          "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}},
        "survey": survey,
        # "medimaging.orthanc Azure client credentials" injects these; the lab adds where its ARM and CA are.
        "credential_env": {"AZURE_SUBSCRIPTION_ID": lab["subscription_id"], "AZURE_TENANT_ID": lab["tenant_id"],
                           "AZURE_CLIENT_ID": lab["client_id"], "AZURE_CLIENT_SECRET": lab["client_secret"],
                           "AZURE_ARM_ENDPOINT": lab["arm_endpoint"], "AZURE_AUTHORITY_HOST": lab["authority_host"],
                           "REQUESTS_CA_BUNDLE": "/runner/env/lab-ca.pem"},
        "credential_files": {"lab-ca.pem": lab["ca_bundle"]},
    }


def run_job(tmp_path_factory, spec):
    private_data_dir = str(tmp_path_factory.mktemp(f"job{spec['id']}"))
    awx_job.prepare(private_data_dir, spec, TAG, OWNER)
    runner = awx_job.run(private_data_dir, spec)
    output = runner.stdout.read() if runner.stdout else ""
    assert runner.status == "successful" and runner.rc == 0, f"job {spec['id']}: {runner.status}\n{output[-6000:]}"
    return runner, private_data_dir, output


@pytest.fixture(scope="module")
def converged(azure_lab, names, tmp_path_factory):
    remove_labelled(OWNER)
    first = run_job(tmp_path_factory, job(azure_lab, names, 101, survey_defaults()))
    yield first
    run_job(tmp_path_factory, job(azure_lab, names, 199, survey_defaults(
        hybrid_state="absent", hybrid_remove_resource_group="true", azure_dicom_delete_workspace="true")))
    assert remove_labelled(OWNER) == 0, "ansible-runner left a job container behind"


def test_the_job_is_written_as_awx_writes_it(converged):
    _, private_data_dir, _ = converged
    with open(os.path.join(private_data_dir, "env", "extravars"), encoding="utf-8") as handle:
        extravars = handle.read()
    assert "hybrid_state: !unsafe 'present'" in extravars
    assert "blob_archive_archive_after_days: 365" in extravars  # numbers are not strings: not tagged
    assert "awx_job_template_name: " + TEMPLATE in extravars and "awx_job_id: 101" in extravars
    script = os.path.join(private_data_dir, "inventory", "hosts")
    assert os.access(script, os.X_OK)
    with open(os.path.join(private_data_dir, "env", "settings"), encoding="utf-8") as handle:
        settings = yaml.safe_load(handle)
    assert settings["process_isolation"] and settings["container_image"] == TAG


def test_the_cloud_side_converges_inside_the_ee(converged):
    runner, private_data_dir, output = converged
    assert runner.stats["changed"].get("azure-cloud", 0) > 0, output[-3000:]
    assert not runner.stats["failures"] and not runner.stats["dark"]
    # The job ran in the container: the interpreter is the EE's, not this venv's.
    starts = [e for e in runner.events if e.get("event") == "playbook_on_start"]
    assert starts, "no playbook_on_start event came back from the container"
    cmdline = json.dumps(runner.config.command)
    assert "podman" in cmdline and TAG in cmdline


def test_a_second_job_changes_nothing(converged, azure_lab, names, tmp_path_factory):
    runner, _, output = run_job(tmp_path_factory, job(azure_lab, names, 102, survey_defaults()))
    assert runner.stats["changed"].get("azure-cloud", 0) == 0, output[-3000:]
    assert runner.stats["ok"].get("azure-cloud", 0) > 0
