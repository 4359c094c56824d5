"""The DICOM keywords a TagRule accepts, with their tags (from the DICOM standard, part 6).

The plugin cannot rely on pydicom on every host, and a misspelled keyword used to match nothing, so every
study was filtered out silently. Rules name one of these keywords (single-valued attributes a study's
first instance carries; sequences never match) or any tag as gggg,eeee (private tags included). Rules
match on the tag, so Orthanc's own names for attributes do not matter.
"""

import difflib
import re

_HEX_RE = re.compile(r"[0-9A-Fa-f]{4},[0-9A-Fa-f]{4}")
KEYWORDS = {
    "PatientName": "0010,0010", "PatientID": "0010,0020", "IssuerOfPatientID": "0010,0021",
    "OtherPatientIDs": "0010,1000", "PatientBirthDate": "0010,0030", "PatientSex": "0010,0040",
    "PatientAge": "0010,1010", "PatientIdentityRemoved": "0012,0062", "DeidentificationMethod": "0012,0063",
    "StudyInstanceUID": "0020,000D", "StudyDate": "0008,0020", "StudyTime": "0008,0030",
    "StudyDescription": "0008,1030", "StudyID": "0020,0010", "AccessionNumber": "0008,0050",
    "ReferringPhysicianName": "0008,0090", "InstitutionName": "0008,0080", "InstitutionAddress": "0008,0081",
    "InstitutionalDepartmentName": "0008,1040", "RequestingPhysician": "0032,1032", "RequestingService": "0032,1033",
    "RequestedProcedureDescription": "0032,1060", "RequestedProcedureID": "0040,1001",
    "AdmittingDiagnosesDescription": "0008,1080", "NameOfPhysiciansReadingStudy": "0008,1060",
    "PerformingPhysicianName": "0008,1050", "OperatorsName": "0008,1070", "CurrentPatientLocation": "0038,0300",
    "SeriesInstanceUID": "0020,000E", "SeriesDescription": "0008,103E", "SeriesNumber": "0020,0011",
    "SeriesDate": "0008,0021", "Modality": "0008,0060", "BodyPartExamined": "0018,0015", "ProtocolName": "0018,1030",
    "Laterality": "0020,0060", "ImageLaterality": "0020,0062", "PatientPosition": "0018,5100",
    "ViewPosition": "0018,5101", "PerformedProcedureStepDescription": "0040,0254",
    "PerformedStationAETitle": "0040,0241", "ScheduledStationAETitle": "0040,0001", "Manufacturer": "0008,0070",
    "ManufacturerModelName": "0008,1090", "StationName": "0008,1010", "DeviceSerialNumber": "0018,1000",
    "SoftwareVersions": "0018,1020", "SOPClassUID": "0008,0016", "SOPInstanceUID": "0008,0018",
    "ImageType": "0008,0008", "ContentDate": "0008,0023", "AcquisitionDate": "0008,0022",
    "SourceApplicationEntityTitle": "0002,0016", "SpecificCharacterSet": "0008,0005", "ConversionType": "0008,0064",
    "BurnedInAnnotation": "0028,0301", "ContrastBolusAgent": "0018,0010", "ScanningSequence": "0018,0020",
    "SequenceName": "0018,0024", "MRAcquisitionType": "0018,0023", "MagneticFieldStrength": "0018,0087",
    "KVP": "0018,0060", "SliceThickness": "0018,0050", "PresentationIntentType": "0008,0068",
    "ClinicalTrialSponsorName": "0012,0010", "ClinicalTrialProtocolID": "0012,0020",
    "ClinicalTrialSiteID": "0012,0030", "ClinicalTrialSubjectID": "0012,0040", "InstanceNumber": "0020,0013",
    "AcquisitionNumber": "0020,0012", "FrameOfReferenceUID": "0020,0052",
    "ReasonForTheRequestedProcedure": "0040,1002",
}


def tag_of(name):
    """'InstitutionName' or '0008,0080' -> '0008,0080'; ValueError naming the problem otherwise."""
    if not isinstance(name, str):
        raise ValueError("expected a DICOM keyword or gggg,eeee, got %r" % (name,))
    if _HEX_RE.fullmatch(name):
        return name.upper()
    if name in KEYWORDS:
        return KEYWORDS[name]
    close = difflib.get_close_matches(name, list(KEYWORDS), n=1)
    hint = "did you mean %s? " % close[0] if close else ""
    raise ValueError("unknown DICOM keyword %r; %sgive any other tag as gggg,eeee (e.g. 0008,0080)" % (name[:64], hint))
