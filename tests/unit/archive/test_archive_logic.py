"""Selection, naming, manifest and verification rules of the study archive (no network)."""
import datetime

import pytest

from ansible_collections.medimaging.orthanc.plugins.module_utils import archive_blob, archive_engine as engine
from ansible_collections.medimaging.orthanc.plugins.module_utils import archive_manifest as layout


def test_age_query_selects_strictly_older_than_n_days():
    today = datetime.date(2025, 3, 10)
    # 30 days before is 2025-02-08; that day itself is not "older than 30 days".
    assert engine.age_query(today, 30) == "-20250207"
    assert engine.age_query(today, 0) == "-20250309"


@pytest.mark.parametrize("value, expected", [
    ("20240229", datetime.date(2024, 2, 29)), ("", None), (None, None), ("2024", None), ("20241340", None)])
def test_parse_study_date(value, expected):
    assert engine.parse_study_date(value) == expected


def _study(uid, date):
    return {"ID": "id" + uid, "StudyInstanceUID": uid, "StudyDate": date}


def test_select_for_size_takes_oldest_until_under_limit_and_skips_undated():
    studies = [_study("1.3", "20200101"), _study("1.1", "20100101"), _study("1.2", ""), _study("1.4", "20240101")]
    sizes = {"1.1": 50, "1.3": 30, "1.4": 20, "1.2": 1000}
    asked = []

    def size_of(study):
        asked.append(study["StudyInstanceUID"])
        return sizes[study["StudyInstanceUID"]]

    chosen = engine.select_for_size(studies, total_size=100, max_size=40, size_of=size_of)
    assert [s["StudyInstanceUID"] for s in chosen] == ["1.1", "1.3"]
    assert asked == ["1.1", "1.3"]  # sizes are fetched lazily, only as far as needed
    assert engine.select_for_size(studies, 100, 100, size_of) == []


@pytest.mark.parametrize("uid", ["1.2.3/../x", "1.2.a", "", "1." * 40 + "1", "../1", "1..2"])
def test_bad_uids_never_name_a_blob(uid):
    with pytest.raises(layout.ArchiveError, match="not a valid DICOM UID"):
        layout.blob_name(uid, "1.2", "1.3")


def test_layout_is_vendor_neutral():
    assert layout.blob_name("1.2.3", "1.2.3.4", "1.2.3.4.5") == "1.2.3/1.2.3.4/1.2.3.4.5.dcm"
    assert layout.manifest_name("1.2.3") == "1.2.3/manifest.json"


def _entry(series, sop, size=10, md5="a" * 32, modality="CT"):
    return {"SeriesInstanceUID": series, "SOPInstanceUID": sop, "Modality": modality,
            "blob": layout.blob_name("1.2", series, sop), "size": size, "md5": md5, "ID": "x", "FileSize": size}


def test_manifest_has_counts_sizes_md5s_and_no_phi():
    now = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    study = {"StudyInstanceUID": "1.2", "StudyDate": "20190101", "PatientName": "DOE^JANE", "PatientID": "P1"}
    manifest = layout.build_manifest(study, [_entry("1.2.1", "1.2.1.1", 10), _entry("1.2.1", "1.2.1.2", 20),
                                         _entry("1.2.2", "1.2.2.1", 5, modality="SR")], now=now)
    assert manifest["instance_count"] == 3 and manifest["series_count"] == 2 and manifest["total_bytes"] == 35
    assert manifest["series"] == {"1.2.1": {"Modality": "CT", "count": 2}, "1.2.2": {"Modality": "SR", "count": 1}}
    assert manifest["archived_at"] == "2025-01-02T03:04:05Z"
    assert set(manifest["instances"][0]) == {"SeriesInstanceUID", "SOPInstanceUID", "blob", "size", "md5"}
    text = repr(manifest)
    assert "DOE" not in text and "P1'" not in text and "PatientID" not in text


def test_manifest_keeps_instances_archived_earlier():
    first = layout.build_manifest({"StudyInstanceUID": "1.2"}, [_entry("1.2.1", "1.2.1.1")])
    later = layout.build_manifest({"StudyInstanceUID": "1.2"}, [_entry("1.2.1", "1.2.1.2")], previous=layout.parse_manifest(first, "1.2"))
    assert [e["SOPInstanceUID"] for e in later["instances"]] == ["1.2.1.1", "1.2.1.2"]
    assert later["series"]["1.2.1"]["count"] == 2
    assert later["first_archived_at"] == first["first_archived_at"]


def test_verify_listing_accepts_exact_copy():
    expected = {"1.2/1.3/1.4.dcm": "ab" * 16}
    listing = {"1.2/1.3/1.4.dcm": (9, "ab" * 16), "1.2/manifest.json": (5, "cd" * 16)}
    assert engine.verify_listing("1.2", expected, listing) == []


def test_verify_listing_reports_missing_wrong_md5_and_extra_blobs():
    expected = {"1.2/1.3/1.4.dcm": "ab" * 16, "1.2/1.3/1.5.dcm": "ab" * 16}
    listing = {"1.2/1.3/1.4.dcm": (9, "00" * 16), "1.2/1.3/1.6.dcm": (9, "ab" * 16), "1.2/1.3/1.7.dcm": (9, "ab" * 16)}
    problems = engine.verify_listing("1.2", expected, listing)
    assert any("1.5.dcm is missing" in p for p in problems)
    assert any("1.4.dcm has MD5 " + "00" * 16 in p for p in problems)
    assert any("3 .dcm blobs under 1.2/ but 2 expected" in p for p in problems)


def test_cloud_missing_compares_sop_instance_uids_in_both_answer_forms():
    standard = [{"00080018": {"vr": "UI", "Value": ["1.2.1"]}}]
    orthanc_form = [{"00080018": {"Name": "SOPInstanceUID", "Type": "String", "Value": "1.2.2"}}]
    assert engine.cloud_missing([standard, orthanc_form], ["1.2.1", "1.2.2"]) == []
    assert engine.cloud_missing([standard], ["1.2.1", "1.2.3", "1.2.2"]) == ["1.2.2", "1.2.3"]
    assert engine.cloud_missing([[]], ["1.2.1"]) == ["1.2.1"]


@pytest.mark.parametrize("url, name", [
    ("https://acct1.blob.core.windows.net", "acct1"), ("https://127.0.0.1:10000/devstore", "devstore"),
    ("https://localhost:1/acct/", "acct"), ("https://127.0.0.1:10000", None)])
def test_account_name_from_url(url, name):
    assert archive_blob.account_name_from_url(url) == name


def test_account_url_must_be_https():
    with pytest.raises(layout.ArchiveError, match="https"):
        archive_blob.make_container_client({"container": "c", "account_url": "http://acct.blob.core.windows.net",
                                  "account_key": "a2V5"})
