"""Which prior studies to bring back: pure functions over QIDO-RS answers (DICOM JSON)."""

STUDY_UID = "0020000D"
STUDY_DATE = "00080020"
STUDY_TIME = "00080030"
MODALITIES_IN_STUDY = "00080061"
BODY_PART = "00180015"
INCLUDE_FIELDS = ",".join((STUDY_DATE, STUDY_TIME, MODALITIES_IN_STUDY))


def values(entry, tag):
    """Values of a tag in a QIDO answer entry. Standard DICOM JSON has a list; Orthanc's DICOMweb
    client (/servers/NAME/qido) rewrites it as {"Value": "CT\\MR", "Name": ...}: both accepted."""
    value = (entry.get(tag) or {}).get("Value") if isinstance(entry, dict) else None
    if isinstance(value, str):
        return [part for part in value.split("\\") if part]
    return [v for v in value or [] if isinstance(v, str)]


def first(entry, tag, default=""):
    found = values(entry, tag)
    return found[0] if found else default


def modality_ok(entry, modalities):
    return not modalities or bool({m.upper() for m in values(entry, MODALITIES_IN_STUDY)} & set(modalities))


def most_recent(studies, current_uid, count, modalities=()):
    """The `count` most recent studies (StudyDate, StudyTime descending), excluding the current one
    and those whose ModalitiesInStudy miss the filter. Returns [(uid, date)]."""
    candidates = []
    for entry in studies if isinstance(studies, list) else []:
        uid = first(entry, STUDY_UID)
        if not uid or uid == current_uid or not modality_ok(entry, modalities):
            continue
        candidates.append((first(entry, STUDY_DATE), first(entry, STUDY_TIME), uid))
    candidates.sort(reverse=True)
    return [(uid, date) for date, _time, uid in candidates[:count]]


def body_parts_of(series_answer):
    """BodyPartExamined of every series in a QIDO-RS /studies/UID/series answer."""
    parts = set()
    for entry in series_answer if isinstance(series_answer, list) else []:
        parts.update(v.upper() for v in values(entry, BODY_PART))
    return parts
