"""The ransomware drill: the hospital loses its PACS host, and radiologists open every study the router had copied to
the cloud in a cloud-hosted OHIF viewer (the ohif_viewer role in cloud mode: its token broker holds the viewer's
identity, the browser never does), in a real headless Chromium. Then the host is restored and Orthanc answers again.

The host is stopped for real (`podman stop`: systemd, Orthanc and its PostgreSQL go down together), which is what an
encrypted or powered-off PACS looks like to everyone else on the network. The viewer is deployed at drill time here;
a hospital keeps it deployed in the cloud, ready (the role's README says how).
"""
import os
import re
import sys
import time

import requests

from lab.ca import LabCA
from lab.containers.runtime import container_state, podman
from lab.site.host import site_for
from lab.story.places import Cloud, OnPrem
from lab.viewer import browser
from lab.viewer.deploy import Viewers, ensure_browser_and_ohif, write_htpasswd

VIEWER_LOGIN = ("radiologist-dr", "cloud-viewer-drill")
RESTORE_TIMEOUT = 180


def routed_studies(ledger, cloud):
    """The studies whose every instance is in the cloud DICOM service right now (what the router had copied)."""
    return [uid for uid, study in ledger.studies.items() if set(study["sop_uids"]) <= cloud.instances(uid)]


def pacs_answers(onprem):
    """Orthanc answers its REST API. Ask only while the host runs: with its last container stopped, podman removes the
    site network's bridge and the address would be routed off this machine."""
    try:
        onprem.study_count()
        return True
    except (requests.ConnectionError, requests.Timeout):
        return False


def _cloud_viewer(work, context, identity):
    """The ohif_viewer role applied in cloud mode on this machine, nginx and the broker started (lab/viewer/deploy)."""
    ca = LabCA(os.path.join(work, "ca"))
    ca.ensure()
    cert, key = ca.issue_server_cert("cloud-viewer")
    secret = os.path.join(work, "client-secret")
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(identity["client_secret"])
    htpasswd = os.path.join(work, "htpasswd")
    viewers = Viewers(os.path.join(work, "viewers"), cert, key, ensure_browser_and_ohif())
    # nginx verifies the service's certificate by name, and the lab certificate names localhost (not the IP).
    url = context["cloud_url"].rstrip("/").replace("127.0.0.1", "localhost") + "/v2"
    viewers.add("drill", ohif_viewer_mode="cloud", ohif_viewer_dicomweb_url=url,
                ohif_viewer_dicomweb_ca_path=context["ca_bundle"],
                ohif_viewer_htpasswd_path=write_htpasswd(htpasswd, *VIEWER_LOGIN),
                ohif_viewer_oauth={"Provider": "client_credentials", "ClientId": identity["client_id"],
                                   "TokenEndpoint": identity["token_endpoint"], "ClientSecretFile": secret,
                                   "CaBundle": context["ca_bundle"], "Scope": context["cloud_scope"]})
    rc, _stats, _changed, output = viewers.apply()
    if rc != 0:
        raise RuntimeError("the ohif_viewer role failed to deploy the cloud viewer:\n" + output[-3000:])
    viewers.start()
    return viewers


def _study_list(page, url, patient_names):
    """The cloud viewer's study list: which of the patients it shows (by name: OHIF 3.13's list has no MRN column)
    and how many studies it counts ("1-19 of 19")."""
    try:
        text = browser.study_list(page, url, patient_names, timeout=120)
    except AssertionError as exc:  # some patient missing: report what the list does show
        print(f"study list: {str(exc)[:800]}", file=sys.stderr)
        text = page.inner_text("body")
    counted = re.search(r"\b\d+-\d+ of (\d+)\b", text)
    return {"patients_listed": sorted(n for n in patient_names if n.replace("^", ", ") in text),
            "studies_listed": int(counted.group(1)) if counted else None}


def _open_all(viewers, study_uids, patient_names, screenshots):
    """The study list, then each study in Chromium: ({study_uid: seconds to a rendered, non-black image, or the
    error}, what the study list showed)."""
    opened = {}
    with browser.chromium() as chromium:
        page = browser.new_page(chromium, VIEWER_LOGIN)
        listed = _study_list(page, viewers.url("drill"), patient_names)
        browser.screenshot(page, screenshots, "ransomware-drill-study-list")
        for index, uid in enumerate(study_uids):
            for attempt in (1, 2):  # one reload, as a radiologist would: a code chunk may fail to load at load 20
                try:
                    seconds, state = browser.open_study(page, viewers.url("drill"), uid, timeout=60)
                    opened[uid] = round(seconds, 1) if state.get("nonBlack", 0) > 0 else "rendered black"
                    break
                except AssertionError as exc:
                    opened[uid] = f"attempt {attempt}: {str(exc)[:300]}"
            if index == 0:
                browser.screenshot(page, screenshots, "ransomware-drill-cloud-viewer")
    return opened, listed


def _restore(container, onprem):
    started = time.monotonic()
    podman("start", container)  # the network's bridge comes back before the container runs
    while time.monotonic() - started < RESTORE_TIMEOUT:
        if pacs_answers(onprem):
            return round(time.monotonic() - started, 1)
        time.sleep(2)
    raise RuntimeError(f"the PACS host {container} was started again but Orthanc did not answer within "
                       f"{RESTORE_TIMEOUT} s: see `podman exec {container} journalctl -u orthanc*`")


def run(context, ledger, identity, work):
    """The whole drill; returns what the ledger records (the summary reads it)."""
    onprem = OnPrem(context["onprem_url"], context["onprem_user"], context["onprem_password"])
    cloud = Cloud(context["cloud_url"], context["identity"], context["ca_bundle"], context["cloud_scope"])
    routed = routed_studies(ledger, cloud)
    container = site_for(context["lab_dir"]).plan.pacs_container
    os.makedirs(work, mode=0o700, exist_ok=True)
    viewers = _cloud_viewer(work, context, identity)
    try:
        podman("stop", "-t", "20", container)
        pacs_down = container_state(container) != "running"
        patients = sorted({ledger.studies[uid].get("patient_name") or ledger.studies[uid]["patient_id"]
                           for uid in routed})
        opened, listed = _open_all(viewers, routed, patients, os.path.join(work, "screenshots"))
    finally:
        viewers.stop()
        restored_seconds = _restore(container, onprem)
    rendered = [uid for uid, value in opened.items() if isinstance(value, float)]
    return {"drill": "ransomware", "pacs_down_during_drill": pacs_down, "studies_in_ledger": len(ledger.studies),
            "routed_before_the_stop": len(routed), "opened_in_cloud_viewer": len(rendered),
            "patients_routed": len(patients), "patients_in_study_list": len(listed["patients_listed"]),
            "studies_in_study_list": listed["studies_listed"],
            "failed": {uid: value for uid, value in opened.items() if uid not in rendered},
            "median_seconds_to_image": sorted(opened[u] for u in rendered)[len(rendered) // 2] if rendered else None,
            "pacs_restored_seconds": restored_seconds, "screenshots": os.path.join(work, "screenshots")}
