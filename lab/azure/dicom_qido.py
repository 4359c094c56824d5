"""QIDO-RS as the Azure DICOM service's conformance statement v2 limits it, before the query reaches Orthanc.

  - query parameters: limit (1-200, default 100: Orthanc's own default is "everything"), offset (>= 0),
    fuzzymatching (true|false), includefield (all, or attribute keywords / hex tags, comma separated);
  - search attributes, by keyword (case-sensitive) or hex tag, only those the statement lists for the resource
    searched (study attributes on /studies, study + series on /series, series on /studies/{study}/series...);
    anything else is refused with 400 and the service's message;
  - fuzzymatching=true: a name (PN) matches when one of its words starts with the value; Orthanc has no fuzzy
    matching (it reads the parameter and ignores it), so the value becomes a wildcard "*value*" (case-insensitive
    for PN in Orthanc): it finds every name the service finds, and may find a few more.
"""
import re
from urllib.parse import parse_qsl, quote, urlencode

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from lab.azure.dicom_changefeed import bounded

DEFAULT_LIMIT = 100
MAX_LIMIT = 200

_STUDY = ("StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
          "ReferringPhysicianName", "StudyDate", "StudyDescription", "ModalitiesInStudy")
_SERIES = ("SeriesInstanceUID", "Modality", "PerformedProcedureStepStartDate", "ManufacturerModelName")
_INSTANCE = ("SOPInstanceUID",)
# resource path (study/series UIDs replaced by '{}') -> attributes it can be searched on
_LEVELS = {
    "studies": _STUDY,
    "series": _STUDY + _SERIES,
    "studies/{}/series": _SERIES,
    "instances": _STUDY + _SERIES + _INSTANCE,
    "studies/{}/instances": _SERIES + _INSTANCE,
    "studies/{}/series/{}/instances": _INSTANCE,
}
_QIDO_PATH = re.compile(r"(studies|series|instances|studies/[^/]+/series|studies/[^/]+/instances|"
                        r"studies/[^/]+/series/[^/]+/instances)/?")
_HEX_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_CONTROL = {"limit", "offset", "fuzzymatching", "includefield"}


class QueryRefused(ValueError):
    """The service answers 400 with this message."""


def is_search(method, rest):
    return method == "GET" and _QIDO_PATH.fullmatch(rest) is not None


def _level(rest):
    parts = rest.strip("/").split("/")
    return "/".join("{}" if i % 2 else part for i, part in enumerate(parts))


def _keyword(name):
    """The attribute keyword a query parameter names (keyword or hex tag); None when it names none."""
    if _HEX_TAG.fullmatch(name):
        return keyword_for_tag(int(name, 16)) or None
    return name if tag_for_keyword(name) is not None else None


def _integer(value, low, high, message):
    try:
        return bounded(value, low, high)
    except ValueError:
        raise QueryRefused(message) from None


def check(rest, query):
    """The query string Orthanc gets for a QIDO-RS search of `rest` (e.g. 'studies/1.2/series'), after Azure's
    rules; QueryRefused when the service would answer 400."""
    allowed = _LEVELS[_level(rest)]
    pairs = parse_qsl(query, keep_blank_values=True)
    fuzzy = False
    out = []
    for name, value in pairs:
        lowered = name.lower()
        if lowered == "limit":
            value = str(_integer(value, 1, MAX_LIMIT,
                                 "The limit must be between 1 and %d." % MAX_LIMIT))
        elif lowered == "offset":
            value = str(_integer(value, 0, None, "The offset must be a non-negative integer."))
        elif lowered == "fuzzymatching":
            if value.lower() not in ("true", "false"):
                raise QueryRefused("Invalid value '%s' for fuzzymatching: use true or false." % value)
            fuzzy = value.lower() == "true"
            value = value.lower()
        elif lowered == "includefield":
            for field in value.split(","):
                if field.strip() != "all" and _keyword(field.strip()) is None:
                    raise QueryRefused("Invalid includefield value '%s': use all, attribute keywords or tags."
                                       % field.strip())
        else:
            keyword = _keyword(name)
            if keyword is None or keyword not in allowed:
                raise QueryRefused("Unknown query parameter '%s'. If the parameter is an attribute keyword, check "
                                   "the casing as they are case-sensitive. The conformance statement has a list of "
                                   "supported query parameters and attributes." % name)
        out.append((lowered if lowered in _CONTROL else name, value))
    if fuzzy:
        out = [(name, _fuzzy(value)) if name not in _CONTROL and dictionary_VR(_keyword(name)) == "PN" and value
               else (name, value) for name, value in out]
    if not any(name == "limit" for name, _value in out):
        out.append(("limit", str(DEFAULT_LIMIT)))
    return urlencode(out, safe="*^,", quote_via=quote)  # Orthanc reads "%2A" as a literal, not a wildcard


def _fuzzy(value):
    return "*%s*" % value.strip("*")
