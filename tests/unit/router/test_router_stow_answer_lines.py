"""STOW-RS answers of the two Orthanc DICOMweb lines the lab runs, as captured from them (2026-12-03), read per
instance the same way: DICOMweb 1.7 (Orthanc 1.10, Debian 12) sends an empty FailedSOPSequence (SQ, no Value) when
nothing failed, DICOMweb 1.20 (Orthanc 1.12, Debian 13 and orthancteam images) leaves it out."""
import pytest

from medimaging_plugin.router.stow_answer import per_instance

SOP = "1.2.826.0.1.3680043.8.498.1"
STORED = {"00081199": {"vr": "SQ", "Value": [{"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                                             "00081155": {"vr": "UI", "Value": [SOP]}}]}}
COMMON = {"00080005": {"vr": "CS", "Value": ["ISO_IR 100"]},
          "00081190": {"vr": "UR", "Value": ["http://127.0.0.1:8042/dicom-web/studies/1.2.3"]}}


@pytest.mark.parametrize("line, answer", [
    ("DICOMweb 1.7", dict(COMMON, **STORED, **{"00081198": {"vr": "SQ"}})),
    ("DICOMweb 1.20", dict(COMMON, **STORED)),
])
def test_a_stored_instance_reads_as_stored_on_both_lines(line, answer):
    assert per_instance(answer, [SOP]) == {SOP: 0}, line
