"""QIDO-RS limits of the lab DICOM service (Azure conformance statement v2), before Orthanc sees the query."""
from urllib.parse import parse_qsl

import pytest

from lab.azure import dicom_qido as dq


def checked(rest, query):
    return dict(parse_qsl(dq.check(rest, query)))


def test_default_limit_is_100_and_200_is_the_most():
    assert checked("studies", "")["limit"] == "100"
    assert checked("studies", "limit=200&offset=400") == {"limit": "200", "offset": "400"}
    for bad in ("limit=201", "limit=0", "limit=x"):
        with pytest.raises(dq.QueryRefused, match="between 1 and 200"):
            dq.check("studies", bad)
    with pytest.raises(dq.QueryRefused, match="non-negative"):
        dq.check("studies", "offset=-5")


@pytest.mark.parametrize("rest, query", [
    ("studies", "PatientID=P1&StudyDate=20260101-20261231&ModalitiesInStudy=CT"),
    ("studies", "00100020=P1"),  # a tag instead of its keyword
    ("series", "PatientName=DOE&Modality=CT"),
    ("studies/1.2.3/series", "Modality=MR&PerformedProcedureStepStartDate=20260101"),
    ("instances", "SOPInstanceUID=1.2&AccessionNumber=A1&includefield=all"),
    ("studies/1.2.3/series/4.5/instances", "SOPInstanceUID=1.2.3.4.5&includefield=00080016,Rows"),
])
def test_attributes_the_statement_lists_for_each_resource(rest, query):
    assert dq.check(rest, query)


@pytest.mark.parametrize("rest, query", [
    ("studies", "Modality=CT"),  # a series attribute on the study resource
    ("studies", "patientid=P1"),  # keywords are case-sensitive
    ("studies", "InstitutionName=X"),  # a real attribute the service does not index
    ("studies/1.2.3/series", "PatientID=P1"),  # study attributes are not searched under one study
    ("studies", "color=blue"),
])
def test_unknown_search_parameters_are_refused_as_azure_says(rest, query):
    with pytest.raises(dq.QueryRefused, match="Unknown query parameter"):
        dq.check(rest, query)


def test_fuzzy_matching_widens_names_only_and_checks_its_value():
    query = checked("studies", "fuzzymatching=true&PatientName=joh&PatientID=P1")
    assert query["PatientName"] == "*joh*" and query["PatientID"] == "P1" and query["fuzzymatching"] == "true"
    assert checked("studies", "fuzzymatching=false&PatientName=joh")["PatientName"] == "joh"
    with pytest.raises(dq.QueryRefused, match="true or false"):
        dq.check("studies", "fuzzymatching=maybe")
    with pytest.raises(dq.QueryRefused, match="includefield"):
        dq.check("studies", "includefield=NotAKeyword")


def test_only_searches_are_checked():
    assert dq.is_search("GET", "studies/1.2/series")
    assert not dq.is_search("GET", "studies/1.2/series/3.4")  # WADO metadata/retrieve
    assert not dq.is_search("POST", "studies")
