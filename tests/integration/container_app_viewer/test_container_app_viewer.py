"""The Container Apps scenario's viewer option (roles/orthanc_container_app/tasks/viewer.yml) on a throwaway lab: the
emulator runs the viewer app as a real container of the project's ohif-viewer image (cloud mode, TLS ended by the
lab's ingress), its token broker on the app's user-assigned MANAGED identity (the lab's IDENTITY_ENDPOINT), the
viewers' htpasswd a Key Vault reference. Debian's chromium logs in through the ingress, lists the study and renders it;
no token or secret is in the app's configuration, in what the browser received or in what page scripts can read.

The environment and vault the role's present.yml makes are made here by the same modules (the Orthanc app itself is
the quickstart test's); the role's viewer tasks run as the scenario runs them, then remove the app and identity."""
import json
import os
import secrets
import subprocess
import sys
import tempfile

import pytest
import requests

from lab.containers import images
from lab.containers.runtime import podman
from lab.throwaway import throwaway_lab
from lab.viewer import browser
from lab.viewer.archives import CloudDicom, cohort
from lab.viewer.deploy import REPO, ensure_browser_and_ohif
from lab.viewer.world import ca_bundle_for_sdks

LOGIN = ("ca-reader", secrets.token_urlsafe(12))
ARTIFACTS = f"{REPO}/tests/output/container-app-viewer"
CA_IN_IMAGE = "/usr/local/share/medimaging/lab-ca.pem"
VIEWER_APP = "orthanc-viewer"

pytestmark = pytest.mark.timeout(900)


def image_with_lab_ca(base, ca_file, work):
    """The viewer image plus the throwaway lab's CA (the lab's replicas mount no files; a hospital with a private CA
    builds the same layer). Removed after the test."""
    context = os.path.join(work, "image")
    os.makedirs(context, exist_ok=True)
    with open(ca_file, "rb") as source, open(os.path.join(context, "lab-ca.pem"), "wb") as target:
        target.write(source.read())
    with open(os.path.join(context, "Containerfile"), "w", encoding="utf-8") as handle:
        handle.write(f"FROM {base}\nCOPY --chmod=0644 lab-ca.pem {CA_IN_IMAGE}\n")
    tag = f"localhost/medimaging/ohif-viewer-labca:{os.path.basename(work).lower()[-12:]}"
    podman("build", "-q", "-t", tag, context, timeout=300)
    return tag


PLAYBOOK = """
- name: The viewer option of orthanc_container_app, on what present.yml would have made
  hosts: localhost
  gather_facts: false
  vars:
    state: present
  module_defaults:
    group/medimaging.orthanc.azure:
      secret: "{{ orthanc_container_app_environment.AZURE_CLIENT_SECRET }}"
  environment: "{{ orthanc_container_app_environment | dict2items | rejectattr('key', 'eq', 'AZURE_CLIENT_SECRET') | items2dict }}"
  tasks:
    - name: Log Analytics, environment and vault as present.yml makes them
      when: state == 'present'
      block:
        - name: Logs
          medimaging.orthanc.azure_log_analytics_workspace:
            resource_group: "{{ orthanc_container_app_resource_group }}"
            name: log-viewer
            location: "{{ orthanc_container_app_location }}"
          register: logs
        - name: Environment
          medimaging.orthanc.azure_container_app_environment:
            resource_group: "{{ orthanc_container_app_resource_group }}"
            name: cae-viewer
            location: "{{ orthanc_container_app_location }}"
            log_analytics_workspace_id: "{{ logs.id }}"
            log_analytics_customer_id: "{{ logs.customer_id }}"
          register: __orthanc_container_app_env
        - name: Vault
          medimaging.orthanc.azure_key_vault:
            resource_group: "{{ orthanc_container_app_resource_group }}"
            name: kv-viewer-lab
            location: "{{ orthanc_container_app_location }}"
            tenant_id: "{{ tenant_id }}"
            enable_rbac_authorization: true
            enable_purge_protection: true
          register: __orthanc_container_app_vault
        - name: The deployer writes secrets
          medimaging.orthanc.azure_role_assignment:
            scope: "{{ __orthanc_container_app_vault.id }}"
            principal_id: "{{ deployer_principal_id }}"
            principal_type: ServicePrincipal
            role: b86a8fe4-44ce-4948-aee5-eccb2c155cd7
    - name: The role's viewer tasks
      ansible.builtin.include_role:
        name: medimaging.orthanc.orthanc_container_app
        tasks_from: viewer.yml
      vars:
        orthanc_container_app_state: "{{ state }}"
    - name: Hand the URL to the test
      ansible.builtin.copy:
        dest: "{{ result_file }}"
        content: "{{ {'url': orthanc_container_app_viewer_url | default('')} | to_json }}"
        mode: "0600"
"""


def hashed(user, password):
    out = subprocess.run(["openssl", "passwd", "-apr1", password], check=True, capture_output=True, text=True)
    return f"{user}:{out.stdout.strip()}"


class Scenario:
    def __init__(self, env, service, work):
        self.env, self.work = env, work
        self.playbook = os.path.join(work, "viewer.yml")
        with open(self.playbook, "w", encoding="utf-8") as handle:
            handle.write(PLAYBOOK)
        self.vars = os.path.join(work, "vars.json")
        values = {
            "orthanc_container_app_environment": {
                "AZURE_ARM_ENDPOINT": env["arm_endpoint"], "AZURE_AUTHORITY_HOST": env["authority_host"],
                "REQUESTS_CA_BUNDLE": env["ca_bundle"], "AZURE_SUBSCRIPTION_ID": env["subscription_id"],
                "AZURE_TENANT_ID": env["tenant_id"], "AZURE_CLIENT_ID": env["client_id"],
                "AZURE_CLIENT_SECRET": env["client_secret"]},
            "tenant_id": env["tenant_id"], "deployer_principal_id": env["principal_id"],
            "orthanc_container_app_resource_group": service.names[0],
            "orthanc_container_app_location": "westeurope",
            "orthanc_container_app_key_vault_verify_challenge_resource": False,
            # nginx checks the service's certificate by name: the lab's names localhost (127.0.0.1 inside a replica
            # is DNATed to the emulator, as a private endpoint would route it).
            "orthanc_container_app_dicom_service_url": service.url.replace("127.0.0.1", "localhost"),
            "orthanc_container_app_dicom_service_id": (
                f"/subscriptions/{env['subscription_id']}/resourceGroups/{service.names[0]}/providers/"
                f"Microsoft.HealthcareApis/workspaces/{service.names[1]}/dicomservices/{service.names[2]}"),
            "orthanc_container_app_viewer_enabled": True,
            "orthanc_container_app_viewer_name": VIEWER_APP,
            "orthanc_container_app_viewer_htpasswd": [hashed(*LOGIN)],
            "orthanc_container_app_viewer_dicomweb_ca_path": CA_IN_IMAGE,
            "result_file": os.path.join(work, "result.json")}
        with open(os.open(self.vars, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump(values, handle)

    def run(self, image, state="present", label="converge"):
        bindir = os.path.dirname(sys.executable)
        env = dict(os.environ, LAB_DIR=self.env["lab_dir"], ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1", HOME=self.work, PATH=os.pathsep.join((bindir, os.environ["PATH"])))
        done = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                               "-e", "@" + self.vars, "-e", f"state={state}",
                               "-e", f"ansible_python_interpreter={sys.executable}",
                               "-e", f"orthanc_container_app_viewer_image={image}", self.playbook],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
        with open(os.path.join(self.work, label + ".log"), "w", encoding="utf-8") as handle:
            handle.write(done.stdout + done.stderr)
        assert done.returncode == 0, f"{label} failed:\n{done.stdout[-5000:]}\n{done.stderr[-1500:]}"
        with open(os.path.join(self.work, "result.json"), encoding="utf-8") as handle:
            return json.load(handle), done.stdout

    def arm(self, path):
        from azure.identity import ClientSecretCredential  # pylint: disable=import-outside-toplevel
        with ca_bundle_for_sdks(self.env["ca_bundle"]):
            token = ClientSecretCredential(self.env["tenant_id"], self.env["client_id"], self.env["client_secret"],
                                           authority=self.env["authority_host"], disable_instance_discovery=True
                                           ).get_token("https://management.azure.com/.default").token
        answer = requests.get(f"{self.env['arm_endpoint']}{path}", params={"api-version": "2026-07-01"},
                              headers={"Authorization": "Bearer " + token}, verify=self.env["ca_bundle"], timeout=30)
        return answer.status_code, answer.json() if answer.content else {}


def replica(app):
    names = podman("ps", "--format", "{{.Names}}", "--filter", f"name=ca-{app}-").stdout.decode().split()
    assert names, f"no running replica of {app}"
    return names[0]


def broker(name, path):
    code = ("import urllib.request as u; r = u.urlopen('http://127.0.0.1:18765%s'); "
            "print(r.headers.get('X-Authorization') or r.read().decode())" % path)
    return podman("exec", name, "python3", "-c", code).stdout.decode().strip()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    ensure_browser_and_ohif()
    base = images.ensure("ohif-viewer")
    work = str(tmp_path_factory.mktemp("ca-viewer"))
    with throwaway_lab() as lab:
        env = lab.env()
        image = image_with_lab_ca(base, env["lab_ca_cert"], tempfile.mkdtemp(prefix="caviewer", dir=work))
        try:
            with ca_bundle_for_sdks(env["ca_bundle"]):
                service = CloudDicom(env, resource_group="rg-caviewer", workspace="wscaviewer").create()
                study = cohort("VCAPP", count=1)[0]
                service.stow(study)
            scenario = Scenario(env, service, work)
            result, output = scenario.run(image)
            with browser.chromium() as chromium:
                yield {"scenario": scenario, "url": result["url"], "study": study, "service": service,
                       "chromium": chromium, "image": image, "output": output}
        finally:
            podman("rmi", "-f", image, check=False)


def test_the_viewer_app_opens_a_study_on_its_managed_identity_and_nothing_secret_reaches_the_browser(deployed):
    url, study = deployed["url"], deployed["study"]
    assert url.startswith("https://127.0.0.1:"), url
    name = replica(VIEWER_APP)
    status = json.loads(broker(name, "/status"))
    assert status["provider"] == "managed_identity", status
    page = browser.new_page(deployed["chromium"], LOGIN)
    exchanges = []
    page.on("requestfinished", lambda request: exchanges.append(request))
    text = browser.study_list(page, url, [study.patient_name])
    assert "1-1 of 1" in text, text[:300]  # the service holds this one study
    seconds, state = browser.open_study(page, url, study.study_uid)
    browser.screenshot(page, ARTIFACTS, "container-app-viewer-study")
    assert state["nonBlack"] > 10000, state
    print(f"first image through the viewer app in {seconds:.1f} s")

    token = broker(name, "/token")
    assert token.startswith("Bearer ") and len(token) > 40
    token = token[len("Bearer "):]
    assert [r for r in exchanges if "/dicom-web/" in r.url], [r.url for r in exchanges][:20]
    seen = []
    for request in exchanges:
        seen.append(json.dumps(request.all_headers()))
        response = request.response()
        if response is not None:
            seen.append(json.dumps(response.all_headers()))
            # Bodies made at run time (DICOMweb JSON, the page, app-config.js); OHIF's bundles come from the image.
            kind = response.headers.get("content-type", "")
            if "json" in kind or "html" in kind or request.url.endswith("/app-config.js"):
                try:
                    seen.append(response.text())
                except Exception:  # pylint: disable=broad-except  # a body chromium no longer keeps
                    pass
    assert not [r.url for r in exchanges if "bearer" in json.dumps(r.all_headers()).lower()]
    seen.append(page.evaluate("""() => JSON.stringify({html: document.documentElement.outerHTML,
        config: window.config, local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})"""))
    assert not [text[:200] for text in seen if token in text], "the browser received the DICOM token"

    # The app's configuration as ARM returns it: the login is a Key Vault reference, the broker a managed identity.
    scenario = deployed["scenario"]
    code, app = scenario.arm(f"/subscriptions/{scenario.env['subscription_id']}/resourceGroups/rg-caviewer/providers/"
                             f"Microsoft.App/containerApps/{VIEWER_APP}")
    assert code == 200, app
    configuration = json.dumps(app)
    assert token not in configuration and LOGIN[1] not in configuration and "$apr1$" not in configuration
    env = {e["name"]: e for e in app["properties"]["template"]["containers"][0]["env"]}
    assert env["OHIF_VIEWER_HTPASSWD"] == {"name": "OHIF_VIEWER_HTPASSWD", "secretRef": "viewer-htpasswd"}
    assert json.loads(env["OHIF_VIEWER_OAUTH"]["value"])["Provider"] == "managed_identity"
    assert [s.get("keyVaultUrl") for s in app["properties"]["configuration"]["secrets"]] == \
        [s["keyVaultUrl"] for s in app["properties"]["configuration"]["secrets"] if s.get("keyVaultUrl")]

    # Without the login, nothing: nginx asks for the htpasswd user.
    assert requests.get(url + "/", verify=False, timeout=30).status_code == 401  # noqa: S501 (lab ingress)


def test_the_viewer_identity_reads_only(deployed):
    """The broker's token is the viewer identity's: it reads the service, and STOW with it is refused (Data Reader)."""
    name = replica(VIEWER_APP)
    token = broker(name, "/token")
    service = deployed["service"]
    ca = deployed["scenario"].env["ca_bundle"]
    found = requests.get(f"{service.url}/v2/studies", headers={"Authorization": token}, verify=ca, timeout=30)
    assert found.status_code == 200 and deployed["study"].study_uid in found.text
    from lab.viewer.archives import stow_body  # pylint: disable=import-outside-toplevel
    body, content_type = stow_body(cohort("VCNOPE", count=1)[0].instances)
    refused = requests.post(f"{service.url}/v2/studies", data=body, verify=ca, timeout=60,
                            headers={"Authorization": token, "Content-Type": content_type})
    assert refused.status_code == 403, refused.status_code


def test_teardown_removes_the_viewer_app_and_its_containers(deployed):
    scenario = deployed["scenario"]
    name = replica(VIEWER_APP)
    scenario.run(deployed["image"], state="absent", label="absent")
    code, _ = scenario.arm(f"/subscriptions/{scenario.env['subscription_id']}/resourceGroups/rg-caviewer/providers/"
                           f"Microsoft.App/containerApps/{VIEWER_APP}")
    assert code == 404
    assert podman("container", "exists", name, check=False).returncode != 0
