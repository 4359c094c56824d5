"""OHIF viewers deployed by the ohif_viewer role, proven in Debian's chromium: the on-prem viewer over a hospital
Orthanc, the cloud viewer over the emulator's DICOM service (token injected by the broker), and bad input."""
import pytest
import requests

from lab.viewer import browser
from lab.viewer.deploy import REPO
from lab.viewer.world import ORTHANC_LOGIN, VIEWER_LOGIN

ARTIFACTS = f"{REPO}/tests/output/viewer"  # screenshots (tests/output is not committed)

pytestmark = pytest.mark.timeout(900)


def test_role_converges_then_a_second_run_changes_nothing(world):
    (rc1, stats1, changed1, _), (rc2, _, changed2, output2) = world["runs"]
    assert rc1 == 0 and all(host["changed"] > 0 for host in stats1.values())
    assert rc2 == 0, output2[-3000:]
    assert changed2 == []


def test_viewer_answers_https_with_secure_headers_and_asks_for_a_login(world):
    viewers = world["viewers"]
    anonymous = requests.get(viewers.url("onprem") + "/", verify=world["ca"], timeout=30)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(viewers.url("cloud") + "/", verify=world["ca"], timeout=30).status_code == 401
    page = requests.get(viewers.url("onprem") + "/", verify=world["ca"], timeout=30, auth=ORTHANC_LOGIN)
    assert page.status_code == 200 and "<html" in page.text.lower()
    headers = page.headers
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    config = requests.get(viewers.url("onprem") + "/app-config.js", verify=world["ca"], timeout=30,
                          auth=ORTHANC_LOGIN)
    assert '"qidoRoot": "/dicom-web"' in config.text and "no-cache" in config.headers["Cache-Control"]
    # A viewer reads only: STOW through it is refused before reaching Orthanc.
    stow = requests.post(viewers.url("onprem") + "/dicom-web/studies", data=b"x", verify=world["ca"], timeout=30,
                         auth=ORTHANC_LOGIN)
    assert stow.status_code == 403


def test_onprem_bulk_data_urls_point_at_the_viewer_origin(world):
    viewers, study = world["viewers"], world["onprem_studies"][0]
    metadata = requests.get(f"{viewers.url('onprem')}/dicom-web/studies/{study.study_uid}/metadata",
                            verify=world["ca"], timeout=60, auth=ORTHANC_LOGIN)
    assert metadata.status_code == 200, metadata.text[:300]
    uris = [element["BulkDataURI"] for instance in metadata.json() for element in instance.values()
            if isinstance(element, dict) and "BulkDataURI" in element]
    assert uris and all(uri.startswith(viewers.url("onprem") + "/dicom-web/") for uri in uris), uris[:3]


def test_onprem_viewer_lists_the_pacs_studies_and_renders_one(world, chromium):
    viewers, studies = world["viewers"], world["onprem_studies"]
    page = browser.new_page(chromium, ORTHANC_LOGIN)
    text = browser.study_list(page, viewers.url("onprem"), [s.patient_name for s in studies])
    assert f"1-{len(studies)} of {len(studies)}" in text
    browser.screenshot(page, ARTIFACTS, "onprem-study-list")
    seconds, state = browser.open_study(page, viewers.url("onprem"), studies[0].study_uid)
    browser.screenshot(page, ARTIFACTS, "onprem-study")
    assert state["nonBlack"] > 10000, state  # the 128x128 slice, scaled up, is far from black
    assert not [m for m in page.messages if "Content Security Policy" in m], page.messages
    print(f"on-prem first image in {seconds:.1f} s")


def test_cloud_viewer_lists_the_cloud_studies_and_renders_one_with_a_token_the_browser_never_sees(world, chromium):
    viewers, studies = world["viewers"], world["cloud_studies"]
    page = browser.new_page(chromium, VIEWER_LOGIN)
    seen = []
    page.on("request", lambda request: seen.append(request.headers.get("authorization", "")))
    text = browser.study_list(page, viewers.url("cloud"), [s.patient_name for s in studies])
    assert f"1-{len(studies)} of {len(studies)}" in text
    browser.screenshot(page, ARTIFACTS, "cloud-study-list")
    seconds, state = browser.open_study(page, viewers.url("cloud"), studies[1].study_uid)
    browser.screenshot(page, ARTIFACTS, "cloud-study")
    assert state["nonBlack"] > 10000, state
    assert not any(value.lower().startswith("bearer") for value in seen)
    # The service itself refuses the viewer's own login: only the broker's token opens it.
    direct = requests.get(world["cloud"].url + "/v2/studies", auth=VIEWER_LOGIN,
                          verify=world["cloud"].env["ca_bundle"], timeout=30)
    assert direct.status_code == 401
    print(f"cloud first image in {seconds:.1f} s")


def test_a_pacs_that_does_not_answer_shows_a_page_that_says_so(world, chromium):
    page = browser.new_page(chromium, ORTHANC_LOGIN)
    answer = page.goto(world["viewers"].url("unreachable") + "/", timeout=60000)
    assert answer.status == 502
    text = page.inner_text("body")
    browser.screenshot(page, ARTIFACTS, "unreachable")
    assert "cannot reach its archive" in text and "http://127.0.0.1:9/dicom-web" in text


def test_a_wrong_dicomweb_path_shows_an_error_banner_not_an_empty_list(world, chromium):
    page = browser.new_page(chromium, VIEWER_LOGIN)
    page.goto(world["viewers"].url("wrongpath") + "/", wait_until="commit", timeout=60000)
    banner = page.wait_for_selector("#medimaging-archive-error", timeout=60000)
    browser.screenshot(page, ARTIFACTS, "wrong-path")
    text = banner.inner_text()
    assert "HTTP 404" in text and "has no such path" in text and "/v9" in text, text
