"""The OHIF viewer image in cloud mode (OHIF_VIEWER_MODE=cloud): the token broker inside the container gets tokens
with client credentials from a mounted secret file, against a DICOM service and Entra ID token endpoint on a
throwaway Azure emulator (lab CA mounted). Debian's chromium opens a study through it (the study list page is the
on-prem test's); nothing the browser receives or can read holds the token or the secret; bad OAuth settings stop
the container naming the variable; the broker and nginx live and stop together."""
import json
import os
import secrets

import pytest
import requests

from lab.containers import images
from lab.containers.runtime import podman, remove_labelled
from lab.proc import free_port
from lab.throwaway import throwaway_lab
from lab.viewer import browser
from lab.viewer.archives import CloudDicom, cohort
from lab.viewer.container import group_readable_copy, run_viewer, wait_healthy
from lab.viewer.deploy import REPO, ensure_browser_and_ohif, write_htpasswd
from lab.viewer.world import ca_bundle_for_sdks

OWNER = "viewer-cloud-container"  # not viewer_container's own label: its world stays untouched
LOGIN = ("cloud-reader", secrets.token_urlsafe(12))
ARTIFACTS = f"{REPO}/tests/output/viewer-container"
SECRETS = "/run/secrets/viewer"  # where a Kubernetes Secret volume would put the files

pytestmark = pytest.mark.timeout(600)


def cloud_settings(dicom, broker_port, **oauth):
    return {"OHIF_VIEWER_MODE": "cloud", "OHIF_VIEWER_DICOMWEB_URL": dicom["url"],
            "OHIF_VIEWER_DICOMWEB_CA_PATH": f"{SECRETS}/ca.crt", "OHIF_VIEWER_HTPASSWD_PATH": f"{SECRETS}/htpasswd",
            "OHIF_VIEWER_BROKER_PORT": str(broker_port),  # host network: the host's loopback, so a free port
            "OHIF_VIEWER_OAUTH": json.dumps({"Provider": "client_credentials", "ClientId": dicom["client_id"],
                                             "TokenEndpoint": dicom["token_endpoint"],
                                             "ClientSecretFile": f"{SECRETS}/client-secret",
                                             "CaBundle": f"{SECRETS}/ca.crt", **oauth})}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    remove_labelled(OWNER)  # a crashed earlier run's containers
    ensure_browser_and_ohif()
    tag = images.ensure("ohif-viewer")
    work = str(tmp_path_factory.mktemp("viewer-cloud-container"))
    try:
        with throwaway_lab() as lab:
            env = lab.env()
            with ca_bundle_for_sdks(env["ca_bundle"]):
                service = CloudDicom(env).create()
                study = cohort("VCLOUD", count=1)[0]
                service.stow(study)
            mounted = os.path.join(work, "secrets")
            secret_file = os.path.join(work, "client-secret")
            with open(secret_file, "w", encoding="utf-8") as handle:
                handle.write(service.reader[1])
            group_readable_copy(secret_file, mounted, "client-secret")
            group_readable_copy(env["ca_bundle"], mounted, "ca.crt")
            group_readable_copy(write_htpasswd(os.path.join(work, "htpasswd"), *LOGIN), mounted, "htpasswd")
            dicom = {"url": service.url.replace("127.0.0.1", "localhost") + "/v2",  # the lab certificate's name
                     "client_id": service.reader[0], "token_endpoint": service.token_endpoint,
                     "secret": service.reader[1], "ca": env["ca_bundle"]}
            volume = ("-v", f"{mounted}:{SECRETS}:ro")
            broker_port = free_port()
            viewer = run_viewer(OWNER, tag, cloud_settings(dicom, broker_port), *volume)
            wait_healthy(viewer[0], viewer[2])
            with browser.chromium() as chromium:
                yield {"tag": tag, "dicom": dicom, "study": study, "viewer": viewer, "volume": volume,
                       "broker_port": broker_port, "chromium": chromium}
    finally:
        remove_labelled(OWNER)


def broker_token(name, port):
    """The broker's current token, asked inside the container as nginx asks it."""
    code = ("import urllib.request; print(urllib.request.urlopen("
            f"'http://127.0.0.1:{port}/token').headers['X-Authorization'])")
    header = podman("exec", name, "python3", "-c", code).stdout.decode().strip()
    assert header.startswith("Bearer ") and len(header) > 40, header[:20]
    return header[len("Bearer "):]


def test_a_cloud_study_opens_and_the_browser_never_holds_the_token_or_the_secret(cloud):
    name, url, _ = cloud["viewer"]
    study, dicom = cloud["study"], cloud["dicom"]
    page = browser.new_page(cloud["chromium"], LOGIN)
    exchanges = []
    page.on("requestfinished", lambda request: exchanges.append(request))
    seconds, state = browser.open_study(page, url, study.study_uid)
    browser.screenshot(page, ARTIFACTS, "cloud-study")
    assert state["nonBlack"] > 10000, state
    print(f"first image through the cloud container in {seconds:.1f} s")

    # The service demands a token; the viewer's calls carried one the browser never had.
    assert requests.get(f"{dicom['url']}/studies", verify=dicom["ca"], timeout=30).status_code == 401
    token = broker_token(name, cloud["broker_port"])
    forbidden = {"token": token, "secret": dicom["secret"]}
    dicomweb = [r for r in exchanges if "/dicom-web/" in r.url]
    assert len(dicomweb) > 3, [r.url for r in exchanges]
    seen = []
    for request in exchanges:
        response = request.response()
        seen.append(json.dumps(request.all_headers()))
        if response is not None:
            seen.append(json.dumps(response.all_headers()))
            # Bodies made at run time (DICOMweb JSON, the page, app-config.js); OHIF's static bundles come from the image.
            if "json" in response.headers.get("content-type", "") or "html" in response.headers.get(
                    "content-type", "") or request.url.endswith("/app-config.js"):
                try:
                    seen.append(response.text())
                except Exception:  # pylint: disable=broad-except  # a body chromium no longer keeps
                    pass
    assert not [r.url for r in exchanges if "bearer" in json.dumps(r.all_headers()).lower()]
    # What page scripts can read: the document, window.config, storage and cookies.
    seen.append(page.evaluate("""() => JSON.stringify({html: document.documentElement.outerHTML,
        config: window.config, local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})"""))
    for what, value in forbidden.items():
        assert not [text[:200] for text in seen if value in text], f"the browser received the {what}"
    logs = podman("logs", name)
    logs = logs.stdout.decode(errors="replace") + logs.stderr.decode(errors="replace")
    assert token not in logs and dicom["secret"] not in logs
    assert "token broker on 127.0.0.1" in logs


def test_bad_oauth_settings_stop_the_container_naming_the_variable(cloud):
    dicom = cloud["dicom"]
    inline = run_viewer(OWNER, cloud["tag"], cloud_settings(dicom, free_port(), ClientSecret=dicom["secret"]),
                        *cloud["volume"], detach=False, network="none")
    message = inline.stderr.decode(errors="replace")
    assert inline.returncode == 2, message
    assert "OHIF_VIEWER_OAUTH: ClientSecret would put a secret in the container's environment" in message
    assert "Nothing was started" in message and dicom["secret"] not in message
    settings = cloud_settings(dicom, free_port())
    settings["OHIF_VIEWER_OAUTH"] = settings["OHIF_VIEWER_OAUTH"].replace("client-secret", "missing-secret")
    missing = run_viewer(OWNER, cloud["tag"], settings, *cloud["volume"], detach=False, network="none")
    message = missing.stderr.decode(errors="replace")
    assert missing.returncode == 2, message
    assert f"OHIF_VIEWER_OAUTH.ClientSecretFile: secret file '{SECRETS}/missing-secret' does not exist" in message


def test_the_broker_and_nginx_are_supervised_together(cloud):
    """A broker that dies stops the container with the reason (exit 1); a stop request stops both (exit 0)."""
    started = [run_viewer(OWNER, cloud["tag"], cloud_settings(cloud["dicom"], free_port()), *cloud["volume"])
               for _ in range(2)]
    for name, _, health in started:
        wait_healthy(name, health)
    killed, stopped = started[0][0], started[1][0]
    kill = ("import os, signal\n"  # this script's own command line names the broker too: skip itself
            "for pid in set(filter(str.isdigit, os.listdir('/proc'))) - {str(os.getpid())}:\n"
            "    with open(f'/proc/{pid}/cmdline', 'rb') as f:\n"
            "        if b'token_broker.py' in f.read(): os.kill(int(pid), signal.SIGKILL)\n")
    podman("exec", killed, "python3", "-c", kill)
    podman("stop", "-t", "20", stopped, timeout=60)
    assert podman("wait", killed, timeout=60).stdout.decode().strip() == "1", podman("logs", killed).stderr[-1500:]
    logs = podman("logs", killed).stderr.decode(errors="replace")
    assert "the token broker ended (killed by signal SIGKILL): stopping nginx; the container stops" in logs
    logs = podman("logs", stopped).stderr.decode(errors="replace")
    assert podman("inspect", "-f", "{{.State.ExitCode}}", stopped).stdout.decode().strip() == "0", logs[-1500:]
    assert "SIGTERM received: stopping the token broker, nginx" in logs
