"""Manifest parsing (medimaging_plugin/archive/manifest.py): a written manifest is accepted as is; anything unsafe is
refused. The module reads through the same file (tests/unit/archive/test_manifest_shared.py)."""
import copy
import datetime
import json

import pytest

from medimaging_plugin.archive.manifest import ManifestError, build_manifest, manifest_name, parse_manifest, valid_uid

STUDY = "1.2.826.0.1.3680043.8.498.1"


def module_manifest():
    """A manifest as the archive engine writes it (build_manifest, the one writer)."""
    entries = [{"SeriesInstanceUID": "1.2.3.4", "SOPInstanceUID": "1.2.3.4.%d" % n, "Modality": "CT",
                "blob": "%s/1.2.3.4/1.2.3.4.%d.dcm" % (STUDY, n), "size": 100 + n, "md5": "%032x" % n}
               for n in range(3)]
    now = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
    return build_manifest({"StudyInstanceUID": STUDY, "StudyDate": "20200101"}, entries, now=now)


def test_engine_manifest_round_trips():
    data = json.dumps(module_manifest(), indent=1, sort_keys=True).encode()
    entries = parse_manifest(data, STUDY).entries
    assert [e.sop_uid for e in entries] == ["1.2.3.4.0", "1.2.3.4.1", "1.2.3.4.2"]
    assert entries[1].blob == STUDY + "/1.2.3.4/1.2.3.4.1.dcm" and entries[1].size == 101
    assert entries[1].md5 == "%032x" % 1
    assert manifest_name(STUDY) == STUDY + "/manifest.json"


@pytest.mark.parametrize("uid, ok", [("1.2.3", True), ("1", True), ("1.2.", False), (".1", False),
                                     ("1..2", False), ("1.2/../x", False), ("1.2?sig=x", False), ("", False),
                                     ("1." * 40 + "1", False), (None, False), (123, False)])
def test_uid_validation(uid, ok):
    assert valid_uid(uid) is ok


def mutate(change):
    manifest = copy.deepcopy(module_manifest())
    change(manifest)
    return manifest


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(schema="other/v9"), "schema"),
    (lambda m: m.update(StudyInstanceUID="9.9"), "names another study"),
    (lambda m: m["instances"][0].update(blob="9.9/1.2.3.4/1.2.3.4.0.dcm"), "is not"),
    (lambda m: m["instances"][0].update(blob="../../etc/passwd"), "is not"),
    (lambda m: m["instances"][0].update(SOPInstanceUID="1.2.x"), "not DICOM UIDs"),
    (lambda m: m["instances"][0].update(md5="abc"), "md5"),
    (lambda m: m["instances"][0].update(size=-1), "size"),
    (lambda m: m["instances"].append(dict(m["instances"][0])), "listed twice|instances but lists"),
    (lambda m: m.update(instance_count=7), "says 7 instances"),
    (lambda m: m.pop("instances"), "no instances list"),
])
def test_unsafe_manifests_are_refused(change, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest(mutate(change), STUDY)


def test_not_json_and_bad_study_uid():
    with pytest.raises(ManifestError, match="not valid JSON"):
        parse_manifest(b"<xml/>", STUDY)
    with pytest.raises(ManifestError, match="DICOM UID"):
        parse_manifest(b"{}", "1.2/../3")
