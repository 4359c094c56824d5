"""Health Data Services workspace and DICOM service names."""
import pytest

from rules_helpers import check_body

WS = "Microsoft.HealthcareApis/workspaces/"


@pytest.mark.parametrize("tail", ["hospitalws", "hospitalws/dicomservices/pacs", "ws-1/dicomservices/dicom-a"])
def test_valid_names_pass(tail):
    assert check_body(WS + tail, {"location": "westeurope"}) is None


@pytest.mark.parametrize("tail, name", [
    ("ws", "ws"), ("Hospital", "Hospital"), ("w" * 25, "w" * 25), ("ws_1", "ws_1"), ("-ws", "-ws"),
    ("hospitalws/dicomservices/pa", "pa"), ("hospitalws/dicomservices/PACS", "PACS"),
    ("hospitalws/dicomservices/pacs-", "pacs-"),
])
def test_bad_names_are_refused(tail, name):
    status, code, message = check_body(WS + tail, {"location": "westeurope"})
    assert (status, code) == (400, "InvalidResourceName") and repr(name) in message
