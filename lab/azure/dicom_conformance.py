"""STOW-RS as the Azure DICOM service's conformance statement v2 describes it, in front of a real Orthanc.

What a client can observe, and what this module decides (pure functions; the store itself is a callback):
  - Content-Type multipart/related; type="application/dicom" (or one application/dicom body), else 415;
    an Accept that does not allow application/dicom+json: 406; a study UID in the path that is not a UID: 400;
    a request above 4 GB: 413; no part at all: 204.
  - per instance, FailedSOPSequence entries with FailureReason:
      43264 validation failed: a required attribute missing (StudyInstanceUID, SeriesInstanceUID,
            SOPInstanceUID, SOPClassUID, PatientID - which may be empty, validated as LO), a UID that is not
            1-64 of [0-9A-Za-z.-], a transfer syntax with implicit VR ("only explicit VR is accepted");
      43265 the instance's StudyInstanceUID differs from the study named in the path;
      45070 an instance with the same Study/Series/SOP Instance UIDs is already stored;
      272   the part could not be read or stored (general processing failure).
  - status 200 all stored, 202 some stored and some failed, 409 none stored; dicom+json body with
    ReferencedSOPSequence (RetrieveURL per instance) and, when a study UID was in the path and something
    was stored, the study's RetrieveURL.
  - searchable attributes that fail their VR (a few: dates, times, short strings) do not fail the instance (v2):
    it is stored and listed in ReferencedSOPSequence with WarningReason 1 and a FailedAttributesSequence of
    "DICOM100: ..." comments, and the answer is 202.
  - the 128-byte preamble is replaced by zeros before the file is stored.
"""
import io
import re
import warnings

import pydicom
from pydicom.uid import UID

MAX_REQUEST_BYTES = 4 * 1024 ** 3
DICOM_JSON = "application/dicom+json"

VALIDATION_FAILED = 43264
STUDY_MISMATCH = 43265
ALREADY_STORED = 45070
PROCESSING_FAILURE = 272

_UID = re.compile(r"[0-9A-Za-z.\-]{1,64}")
_REQUIRED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
# Transfer syntaxes whose data set uses implicit VR (Implicit VR Little Endian; Papyrus 3 Implicit VR, retired).
IMPLICIT_VR = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.20"})


# Searchable attributes checked for warnings: keyword -> (VR, maximum length).
_SEARCHABLE = {"StudyDate": ("DA", 8), "PatientBirthDate": ("DA", 8), "PerformedProcedureStepStartDate": ("DA", 8),
               "StudyTime": ("TM", 16), "AccessionNumber": ("SH", 16), "Modality": ("CS", 16),
               "StudyDescription": ("LO", 64), "ManufacturerModelName": ("LO", 64)}
_VR_RULES = {"DA": (re.compile(r"\d{8}"), "one of the date values does not match the pattern YYYYMMDD"),
             "TM": (re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?"),
                    "value does not match pattern HH[MM[SS[.F{1-6}]]]"),
             "SH": (None, ""), "LO": (None, ""), "CS": (re.compile(r"[A-Z0-9_ ]*"), "value contains invalid character")}


class StowRefused(Exception):
    """The whole request is refused (415, 406, 400, 413) before any instance is looked at."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Outcome:
    """What happened to one part: stored (failure None) or failed with a reason code."""

    def __init__(self, sop_class=None, sop_uid=None, study_uid=None, series_uid=None, failure=None, message=""):
        self.sop_class, self.sop_uid = sop_class, sop_uid
        self.study_uid, self.series_uid = study_uid, series_uid
        self.failure = failure
        self.message = message
        self.warnings = []  # "DICOM100: ..." comments of searchable attributes that fail their VR
        self.dataset = None  # the parsed data set (without pixel data) of a valid part


def valid_uid(value):
    return isinstance(value, str) and _UID.fullmatch(value) is not None


def _media_params(content_type):
    """'multipart/related; type="application/dicom"; boundary=x' -> ('multipart/related', {type, boundary})."""
    head, *rest = (content_type or "").split(";")
    params = {}
    for item in rest:
        key, _, value = item.strip().partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return head.strip().lower(), params


def check_request(content_type, accept, study_in_path, content_length):
    """Refusals of the whole request, in the order the service answers them. Returns the multipart boundary
    (None for a single application/dicom body)."""
    if content_length is not None and content_length > MAX_REQUEST_BYTES:
        raise StowRefused(413, "Requests are limited to 4GB.")
    if accept:
        wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if not any(item in (DICOM_JSON, "application/*", "*/*") for item in wanted):
            raise StowRefused(406, "The specified Accept header is not supported: use application/dicom+json.")
    media, params = _media_params(content_type)
    if media == "application/dicom":
        boundary = None
    elif media == "multipart/related" and params.get("type", "application/dicom").lower() == "application/dicom" \
            and params.get("boundary"):
        boundary = params["boundary"]
    else:
        raise StowRefused(415, "The provided Content-Type is not supported: use multipart/related; "
                               "type=\"application/dicom\" or application/dicom.")
    if study_in_path is not None and not valid_uid(study_in_path):
        raise StowRefused(400, "The provided study instance identifier does not conform to the UID format.")
    return boundary


def split_parts(body, boundary):
    """The bodies of the parts of a multipart/related payload (RFC 2046), in order. StowRefused(415) for a
    part that is not application/dicom, StowRefused(400) for a payload without its boundary."""
    if boundary is None:
        return [body] if body else []
    delimiter = b"\r\n--" + boundary.encode("ascii", "replace")
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2:
        raise StowRefused(400, "The multipart body does not contain its boundary.")
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # close delimiter: the epilogue follows
        _padding, _, piece = piece.partition(b"\r\n")
        head, sep, content = piece.partition(b"\r\n\r\n")
        if not sep:  # a part without headers starts with its blank line
            head, content = b"", piece[2:] if piece.startswith(b"\r\n") else piece
        media = "application/dicom"
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-type":
                media = _media_params(value)[0]
        if media != "application/dicom":
            raise StowRefused(415, f"A part of type {media!r} is not supported: parts must be application/dicom.")
        parts.append(content)
    return parts


def zero_preamble(data):
    """The file as the service stores it: the 128-byte preamble replaced by zeros (added when absent)."""
    if data[128:132] == b"DICM":
        return bytes(128) + data[128:]
    if data[:4] == b"DICM":
        return bytes(128) + data
    return data


def _read(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about odd values; validation below decides
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)


def _text(dataset, keyword):
    value = dataset.get(keyword)
    return None if value is None else str(value)


def _patient_id_problem(dataset):
    if "PatientID" not in dataset:
        return "the required attribute PatientID is missing"
    value = dataset["PatientID"].value
    text = "" if value is None else str(value)
    if len(text) > 64:
        return "PatientID exceeds the 64 characters of VR LO"
    if "\\" in text or any(ord(c) < 32 and c != "\x1b" for c in text):
        return "PatientID contains characters VR LO does not allow"
    return None


def check_instance(data, study_in_path=None):
    """Validate one part. Returns an Outcome: failure None when it may be stored, else the reason code."""
    if data[128:132] != b"DICM" and data[:4] != b"DICM":
        return Outcome(failure=PROCESSING_FAILURE, message="the part is not a DICOM Part 10 file")
    try:
        dataset = _read(data)
    except Exception as exc:  # any parse error: the service cannot process the part
        return Outcome(failure=PROCESSING_FAILURE, message=f"the part cannot be read: {type(exc).__name__}")
    ids = {keyword: _text(dataset, keyword) for keyword in _REQUIRED_UIDS}
    outcome = Outcome(sop_class=ids["SOPClassUID"], sop_uid=ids["SOPInstanceUID"], study_uid=ids["StudyInstanceUID"],
                      series_uid=ids["SeriesInstanceUID"])
    for keyword in _REQUIRED_UIDS:
        if not ids[keyword]:
            return _failed(outcome, VALIDATION_FAILED, f"the required attribute {keyword} is missing")
        if not valid_uid(ids[keyword]):
            return _failed(outcome, VALIDATION_FAILED, f"{keyword} is not 1-64 characters of digits, letters, "
                                                       "'.' and '-'")
    problem = _patient_id_problem(dataset)
    if problem:
        return _failed(outcome, VALIDATION_FAILED, problem)
    syntax = str(getattr(dataset.file_meta, "TransferSyntaxUID", "") or "")
    if syntax in IMPLICIT_VR or (syntax and _is_implicit(syntax)):
        return _failed(outcome, VALIDATION_FAILED, "Implicit VR transfer syntax is not allowed: only transfer "
                                                   "syntaxes with explicit VR are accepted")
    if study_in_path is not None and ids["StudyInstanceUID"] != study_in_path:
        return _failed(outcome, STUDY_MISMATCH, "the instance's StudyInstanceUID does not match the study "
                                                "in the request")
    outcome.warnings = searchable_warnings(dataset)
    outcome.dataset = dataset
    return outcome


def searchable_warnings(dataset):
    """Comments for the searchable attributes whose value fails its VR (stored anyway in v2)."""
    found = []
    for keyword, (vr, longest) in _SEARCHABLE.items():
        element = dataset[keyword] if keyword in dataset else None
        if element is None or element.value in (None, ""):
            continue
        values = list(element.value) if element.VM > 1 else [element.value]
        pattern, why = _VR_RULES[vr]
        for value in (str(v).rstrip(" \x00") for v in values):
            if len(value) > longest:
                why = "value length exceeds maximum length of %d" % longest
            elif pattern is None or pattern.fullmatch(value):
                continue
            found.append('DICOM100: (%04x,%04x) - Content "%s" does not validate VR %s: %s'
                         % (element.tag.group, element.tag.element, value[:64], vr, why))
            break
    return found


def _is_implicit(syntax):
    try:
        return bool(UID(syntax).is_implicit_VR)
    except (ValueError, AttributeError):  # a private transfer syntax: pydicom cannot tell, the service reads it
        return False


def _failed(outcome, code, message):
    outcome.failure, outcome.message = code, message
    return outcome


def _uid_item(value):
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def _referenced(outcome, base_url):
    item = {"00081150": _uid_item(outcome.sop_class), "00081155": _uid_item(outcome.sop_uid),
            "00081190": {"vr": "UR", "Value": [f"{base_url}/studies/{outcome.study_uid}/series/{outcome.series_uid}"
                                               f"/instances/{outcome.sop_uid}"]}}
    if outcome.warnings:
        item["00081196"] = {"vr": "US", "Value": [1]}
        item["00741048"] = {"vr": "SQ", "Value": [{"00000902": {"vr": "LO", "Value": [text]}}
                                                  for text in outcome.warnings]}
    return item


def build_response(outcomes, base_url, study_in_path=None):
    """(status, dicom+json body) for the outcomes of every part. base_url: .../v2 (no trailing slash)."""
    if not outcomes:
        return 204, None
    stored = [o for o in outcomes if o.failure is None]
    failed = [o for o in outcomes if o.failure is not None]
    body = {}
    if study_in_path is not None and stored:
        body["00081190"] = {"vr": "UR", "Value": [f"{base_url}/studies/{study_in_path}"]}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": [
            {"00081150": _uid_item(o.sop_class), "00081155": _uid_item(o.sop_uid),
             "00081197": {"vr": "US", "Value": [o.failure]}} for o in failed]}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": [_referenced(o, base_url) for o in stored]}
    warned = any(o.warnings for o in stored)
    status = 409 if not stored else 202 if failed or warned else 200
    return status, body


def stow(content_type, accept, body, base_url, store, study_in_path=None, content_length=None):
    """The whole STOW-RS transaction. store(bytes, outcome) -> True stored | False already stored; it raises
    for a store failure. Returns (status, dicom+json body or an error message string).
    PUT (upsert) is the same transaction with a store that replaces an instance already stored, so it never
    answers 45070."""
    try:
        boundary = check_request(content_type, accept, study_in_path, content_length)
        parts = split_parts(body, boundary)
    except StowRefused as refused:
        return refused.status, refused.message
    outcomes = []
    for data in parts:
        outcome = check_instance(data, study_in_path)
        if outcome.failure is None:
            try:
                if not store(zero_preamble(data), outcome):
                    _failed(outcome, ALREADY_STORED, "an instance with the same identifiers is already stored")
            except Exception as exc:  # the store refused or failed: a processing failure of this part
                _failed(outcome, PROCESSING_FAILURE, f"the instance could not be stored: {exc}")
        outcomes.append(outcome)
    return build_response(outcomes, base_url, study_in_path)
