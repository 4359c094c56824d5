"""orthanc_study_archive against a real Orthanc and Azurite over HTTPS (127.0.0.1 only).

Proves: check mode writes nothing; archive copies with MD5s and a manifest, deletes only when asked, and a
second run changes nothing; kill -9 of the archiving process mid-run never leaves a study deleted without a
verified copy, and re-runs end with every study archived exactly once; restore is byte-identical; the cloud
presence check keeps a study that the cloud DICOM service does not hold.
"""
import json
import os
import signal
import subprocess
import sys
import time

import requests
from archive_lab import (COLLECTIONS, blobs_of, load_studies, local_study_uids, md5, module_env, orthanc_params,
                         run_module, start_module)

OLD = [(900, "CT"), (700, "MR"), (500, "CR")]
RECENT = [(30, "CT")]


def archive_state(container, sent):
    """Per study: (manifest present, .dcm blobs whose MD5 matches what was sent, any wrong/extra blob)."""
    blobs = blobs_of(container)
    state = {}
    for uid, study in sent.items():
        good = {sop for sop, (series, digest, _size) in study["instances"].items()
                if blobs.get("%s/%s/%s.dcm" % (uid, series, sop), (0, ""))[1] == digest}
        dcm = [n for n in blobs if n.startswith(uid + "/") and n.endswith(".dcm")]
        state[uid] = {"manifest": uid + "/manifest.json" in blobs, "good": len(good),
                      "bad": len(dcm) - len(good)}
    return state


def assert_nothing_lost(orthanc, container, sent):
    """A study that is gone locally must be fully and correctly archived, with its manifest."""
    local = local_study_uids(orthanc)
    state = archive_state(container, sent)
    for uid, study in sent.items():
        assert state[uid]["bad"] == 0, (uid, state[uid])
        if uid not in local:
            assert state[uid] == {"manifest": True, "good": len(study["instances"]), "bad": 0}, (uid, state[uid])
    return state


def run_playbook(tmp_path, tasks):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(module_env(), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    answer = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300)
    report = json.loads(answer.stdout[answer.stdout.index("{"):])
    results = [task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]]
    return answer, results


def test_check_mode_archive_and_idempotence_through_ansible_playbook(pacs, blob_lab, tmp_path):
    orthanc = pacs()
    sent = load_studies(orthanc, OLD + RECENT, instances=3)
    container = blob_lab.container("playbook")
    args = dict(orthanc_params(orthanc), **blob_lab.module_auth("playbook"), older_than_days=365)
    task = {"medimaging.orthanc.orthanc_study_archive": args}
    answer, results = run_playbook(tmp_path, [dict(task, check_mode=True, diff=True), task, task])
    assert answer.returncode == 0, answer.stdout[-3000:] + answer.stderr[-2000:]
    check, first, second = results
    recent = max(sent, key=lambda uid: sent[uid]["date"])  # 30 days old: never selected
    old_uids = set(sent) - {recent}

    assert check["changed"] is True and check["counts"]["studies"] == 3 and check["counts"]["uploaded"] == 9
    assert check["bytes"]["uploaded"] == sum(size for uid in old_uids for _s, _m, size in sent[uid]["instances"].values())
    assert set(check["diff"]["after"]["archived"]) == old_uids

    assert first["changed"] is True and first["counts"]["studies_verified"] == 3 and first["counts"]["deleted_local"] == 0
    state = archive_state(container, sent)
    for uid in sent:
        expected = {"manifest": True, "good": 3, "bad": 0} if uid in old_uids else {"manifest": False, "good": 0, "bad": 0}
        assert state[uid] == expected
    assert local_study_uids(orthanc) == set(sent)  # delete_local defaults to false

    assert second["changed"] is False and second["counts"]["uploaded"] == 0 and second["counts"]["skipped"] == 9
    manifest = json.loads(container.download_blob(sorted(old_uids)[0] + "/manifest.json").readall())
    assert manifest["instance_count"] == 3 and "LAB^PATIENT" not in json.dumps(manifest)
    output = answer.stdout + answer.stderr
    assert blob_lab.key not in output and orthanc.auth[1] not in output


def test_kill_minus_9_mid_run_then_resume_and_restore(pacs, blob_lab, tmp_path):
    orthanc = pacs()
    specs = [(2000 - 100 * n, "CT" if n % 2 else "MR") for n in range(6)]
    sent = load_studies(orthanc, specs, instances=8, rows=256, seed=100)
    container = blob_lab.container("killed")
    args = dict(orthanc_params(orthanc), **blob_lab.module_auth("killed"), older_than_days=365, delete_local=True,
                concurrency=1)

    # 1: killed while copying (blobs exist, not all studies verified).
    process = start_module(args, str(tmp_path))
    while process.poll() is None and not any(n.endswith(".dcm") for n in blobs_of(container)):
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be interrupted: use more data"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    state = assert_nothing_lost(orthanc, container, sent)
    assert sum(1 for s in state.values() if not s["manifest"]) >= 1

    # 2: killed right after the first local deletion.
    process = start_module(args, str(tmp_path))
    while process.poll() is None and len(local_study_uids(orthanc)) == len(sent):
        time.sleep(0.01)
    assert process.poll() is None, "the second run finished before it could be interrupted: use more data"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert_nothing_lost(orthanc, container, sent)
    assert len(local_study_uids(orthanc)) < len(sent)

    # 3: runs to the end: every study archived exactly once, nothing left locally.
    result = run_module(args, str(tmp_path))
    assert not result.get("failed"), result
    assert local_study_uids(orthanc) == set()
    state = assert_nothing_lost(orthanc, container, sent)
    assert all(s == {"manifest": True, "good": 8, "bad": 0} for s in state.values()), state
    assert len([n for n in blobs_of(container) if n.endswith(".dcm")]) == 6 * 8

    # Restore two studies: byte-identical, and a second restore changes nothing.
    chosen = sorted(sent)[:2]
    restore = dict(orthanc_params(orthanc), **blob_lab.module_auth("killed"), state="restored",
                   study_instance_uids=chosen)
    assert run_module(restore, str(tmp_path), check_mode=True)["counts"]["restored"] == 16
    assert local_study_uids(orthanc) == set()
    done = run_module(restore, str(tmp_path))
    assert done["changed"] is True and done["counts"]["restored"] == 16, done
    for uid in chosen:
        for sop, (_series, digest, _size) in sent[uid]["instances"].items():
            found = orthanc.request("POST", "/tools/lookup", data=sop).json()
            data = orthanc.request("GET", "/instances/%s/file" % found[0]["ID"]).content
            assert md5(data) == digest
    again = run_module(restore, str(tmp_path))
    assert again["changed"] is False and again["counts"]["already_present"] == 16


def test_cloud_presence_gates_local_deletion(pacs, orthanc_factory, blob_lab, tmp_path):
    cloud = orthanc_factory(name="cloud", config={"DicomWeb": {"Enable": True, "Root": "/dicom-web/"}},
                            plugins=["DicomWeb"])
    orthanc = pacs(servers={"cloud": {"Url": cloud.url + "/dicom-web/"}})
    sent = load_studies(orthanc, [(900, "CT"), (800, "MR")], instances=2)
    routed, not_routed = sorted(sent, key=lambda uid: sent[uid]["date"])
    study_id = orthanc.request("POST", "/tools/lookup", data=routed).json()[0]["ID"]
    stow = orthanc.request("POST", "/dicom-web/servers/cloud/stow", json={"Resources": [study_id], "Synchronous": True})
    assert stow.status_code == 200, stow.text
    blob_lab.container("gated")

    args = dict(orthanc_params(orthanc), **blob_lab.module_auth("gated"), older_than_days=365, delete_local=True,
                verify_cloud_server="cloud")
    result = run_module(args, str(tmp_path))
    by_uid = {s["StudyInstanceUID"]: s for s in result["studies"]}
    assert by_uid[routed]["cloud_verified"] is True and by_uid[routed]["deleted_local"] == 2
    assert by_uid[not_routed]["verified"] is True and by_uid[not_routed]["cloud_verified"] is False
    assert by_uid[not_routed]["deleted_local"] == 0
    assert local_study_uids(orthanc) == {not_routed}
    assert "kept locally" in json.dumps(result.get("warnings", result)), result.keys()
    assert requests.get(cloud.url + "/studies", timeout=10).json()  # the cloud copy is untouched
