"""The OHIF viewer image (images/ohif-viewer) run by podman as an arbitrary non-root UID with a read-only root file
system, next to a lab Orthanc (host network, 127.0.0.1 only): Debian's chromium opens a study through it and sees
rendered pixels; a container pointed at a wrong upstream shows the error page; bad settings stop it with a reason."""
import os
import secrets

import pytest
import requests

from lab.containers import images
from lab.containers.runtime import podman, remove_labelled
from lab.proc import LOOPBACK, free_port
from lab.viewer import browser
from lab.viewer.archives import cohort, start_onprem_orthanc
from lab.viewer.container import UID, mounted_certificate, run_viewer as run_container, wait_healthy
from lab.viewer.deploy import REPO, ensure_browser_and_ohif

OWNER = "viewer-container"
LOGIN = ("radiologist", secrets.token_urlsafe(12))
ARTIFACTS = f"{REPO}/tests/output/viewer-container"  # screenshots (tests/output is not committed)

pytestmark = pytest.mark.timeout(600)


def run_viewer(tag, upstream, *extra, detach=True, network="host"):
    """The on-prem image next to an upstream; see lab.viewer.container.run_viewer."""
    return run_container(OWNER, tag, {"OHIF_VIEWER_DICOMWEB_URL": upstream}, *extra, detach=detach, network=network)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    remove_labelled(OWNER)  # a crashed earlier run's containers
    ensure_browser_and_ohif()  # the pinned OHIF tarball the image is built from
    tag = images.ensure("ohif-viewer")
    work = str(tmp_path_factory.mktemp("viewer-container"))
    tls = mounted_certificate(work)
    orthanc = start_onprem_orthanc(os.path.join(work, "pacs"), *LOGIN)
    try:
        studies = cohort("VCONT", count=1)
        for data in studies[0].instances:
            orthanc.upload(data)
        good = run_viewer(tag, f"{orthanc.url}/dicom-web", "-v", f"{tls['folder']}:/run/tls:ro",
                          "-e", "OHIF_VIEWER_TLS_CERT_PATH=/run/tls/tls.crt",
                          "-e", "OHIF_VIEWER_TLS_KEY_PATH=/run/tls/tls.key")
        wrong = run_viewer(tag, f"http://{LOOPBACK}:{free_port()}/dicom-web")  # nothing listens there
        for name, _, health in (good, wrong):
            wait_healthy(name, health)
        with browser.chromium() as chromium:
            yield {"tag": tag, "ca": tls["ca"], "orthanc": orthanc, "studies": studies, "good": good, "wrong": wrong,
                   "chromium": chromium}
    finally:
        remove_labelled(OWNER)
        orthanc.stop()


def test_a_study_opens_in_chromium_through_the_container(world):
    _, url, _ = world["good"]
    study = world["studies"][0]
    page = browser.new_page(world["chromium"], LOGIN)
    text = browser.study_list(page, url, [study.patient_name])
    assert "1-1 of 1" in text
    seconds, state = browser.open_study(page, url, study.study_uid)
    browser.screenshot(page, ARTIFACTS, "study")
    assert state["nonBlack"] > 10000, state  # the 128x128 slice, scaled up, is far from black
    assert not [m for m in page.messages if "Content Security Policy" in m], page.messages
    print(f"first image through the container in {seconds:.1f} s")


def test_the_role_s_site_login_headers_and_bulk_data_urls(world):
    _, url, health = world["good"]
    anonymous = requests.get(url + "/", verify=world["ca"], timeout=30)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    page = requests.get(url + "/", verify=world["ca"], timeout=30, auth=LOGIN)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert page.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert page.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    config = requests.get(url + "/app-config.js", verify=world["ca"], timeout=30, auth=LOGIN)
    assert '"qidoRoot": "/dicom-web"' in config.text and "images/ohif-viewer/entrypoint.py" in config.text
    assert requests.post(url + "/dicom-web/studies", data=b"x", verify=world["ca"], timeout=30,
                         auth=LOGIN).status_code == 403  # a viewer only reads
    study = world["studies"][0]
    metadata = requests.get(f"{url}/dicom-web/studies/{study.study_uid}/metadata", verify=world["ca"], timeout=60,
                            auth=LOGIN)
    assert metadata.status_code == 200, metadata.text[:300]
    uris = [element["BulkDataURI"] for instance in metadata.json() for element in instance.values()
            if isinstance(element, dict) and "BulkDataURI" in element]
    assert uris and all(uri.startswith(url + "/dicom-web/") for uri in uris), uris[:3]
    probe = requests.get(health, timeout=10)
    assert probe.status_code == 200 and probe.text == "ok\n"


def test_a_wrong_upstream_shows_the_error_page_not_a_blank_one(world, tmp_path):
    name, url, health = world["wrong"]
    # No certificate mounted: the container made its own for its server name (localhost).
    cert = tmp_path / "self-signed.pem"
    cert.write_bytes(podman("exec", name, "cat", "/tmp/ohif-viewer/tls/tls.crt").stdout)
    url = url.replace(LOOPBACK, "localhost")
    answer = requests.get(url + "/", verify=cert, timeout=30, auth=LOGIN)
    assert answer.status_code == 502
    assert "cannot reach its archive" in answer.text and "/dicom-web" in answer.text
    assert requests.get(health, timeout=10).status_code == 200  # alive: the page is the right answer
    page = browser.new_page(world["chromium"], LOGIN)
    for _ in range(3):  # chromium aborts a load when another lab network appears (ERR_NETWORK_CHANGED)
        try:
            page.goto(url + "/", timeout=30000)
            break
        except Exception as exc:  # pylint: disable=broad-except
            if "ERR_NETWORK_CHANGED" not in str(exc):
                raise
    assert "The image viewer cannot reach its archive" in page.inner_text("body")
    browser.screenshot(page, ARTIFACTS, "wrong-upstream")


def test_runs_as_the_given_uid_and_writes_only_under_tmp(world):
    name = world["good"][0]
    assert podman("exec", name, "id", "-u").stdout.decode().strip() == str(UID)
    written = podman("exec", name, "find", "/tmp/ohif-viewer", "-maxdepth", "1").stdout.decode().split()
    assert "/tmp/ohif-viewer/site.conf" in written and "/tmp/ohif-viewer/nginx.conf" in written
    # The self-signed key of the container without a mounted certificate: its user's alone.
    key = podman("exec", world["wrong"][0], "stat", "-c", "%a %u", "/tmp/ohif-viewer/tls/tls.key").stdout.decode().split()
    assert key == ["600", str(UID)]


def test_bad_settings_stop_the_container_with_the_reason(world):
    wrong_path = run_viewer(world["tag"], f"{world['orthanc'].url}/wado", detach=False)
    message = wrong_path.stderr.decode(errors="replace")
    assert wrong_path.returncode == 2, message
    assert "the same path as Orthanc's DicomWeb.Root" in message and "Nothing was started" in message
    injected = run_viewer(world["tag"], f"{world['orthanc'].url}/dicom-web", "-e",
                          "OHIF_VIEWER_SERVER_NAME=x; include /etc/passwd", detach=False, network="none")
    assert injected.returncode == 2 and "not allowed (the value goes into nginx's configuration)" in \
        injected.stderr.decode(errors="replace")
    # No network at all: the name cannot resolve, and no DNS query leaves the machine.
    unknown_host = run_viewer(world["tag"], "http://orthanc.invalid:8042/dicom-web", "-e",
                              "OHIF_VIEWER_RESOLVE_TIMEOUT=1", detach=False, network="none")
    message = unknown_host.stderr.decode(errors="replace")
    assert unknown_host.returncode == 2, message
    assert "orthanc.invalid of OHIF_VIEWER_DICOMWEB_URL does not resolve" in message
