"""orthanc_study_archive's restore refuses a tampered manifest against a real Orthanc and Azurite (127.0.0.1 only).

A manifest written under one study that names another study's blob (with that blob's true MD5 and size, so the
MD5 check alone would pass) must fail the study before any blob is read: nothing reaches Orthanc (before the check,
the victim's instance was restored).
"""
import json

from archive_lab import load_studies, local_study_uids, orthanc_params, run_module

CONTAINER = "tampered"
FORGED = "1.2.826.0.1.3680043.8.498.424242"  # a study that was never archived


def test_restore_refuses_a_manifest_entry_outside_its_study(pacs, blob_lab, tmp_path):
    orthanc = pacs()
    sent = load_studies(orthanc, [(900, "CT")], instances=2, seed=500)
    (victim,) = sent
    container = blob_lab.container(CONTAINER)
    auth = dict(orthanc_params(orthanc), **blob_lab.module_auth(CONTAINER))
    archived = run_module(dict(auth, older_than_days=365, delete_local=True), str(tmp_path))
    assert not archived.get("failed") and archived["counts"]["deleted_local"] == 2, archived
    assert local_study_uids(orthanc) == set()

    # The forged study's manifest points at the victim's first blob, with its real size and MD5.
    real = json.loads(container.download_blob(victim + "/manifest.json").readall())
    stolen = dict(real["instances"][0])
    forged = dict(real, StudyInstanceUID=FORGED, instances=[stolen], instance_count=1, series_count=1,
                  total_bytes=stolen["size"], series={stolen["SeriesInstanceUID"]: {"Modality": "CT", "count": 1}})
    container.upload_blob(FORGED + "/manifest.json", json.dumps(forged).encode(), overwrite=True)

    result = run_module(dict(auth, state="restored", study_instance_uids=[FORGED]), str(tmp_path))
    assert result.get("failed") is True and result["studies"] == [], result
    assert [f["StudyInstanceUID"] for f in result["failures"]] == [FORGED]
    error = result["failures"][0]["error"]
    assert "blob '%s' is not %s/" % (stolen["blob"], FORGED) in error and "outside its study" in error
    assert orthanc.get_json("/instances") == []  # the victim's blob was not fetched into Orthanc
