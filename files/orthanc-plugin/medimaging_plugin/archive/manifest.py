"""Reading the per-study manifest written by plugins/module_utils/study_archive.py (schema v1).

  {"schema": "medimaging.orthanc/study-archive/v1", "StudyInstanceUID": ..., "instance_count": n,
   "instances": [{"SeriesInstanceUID", "SOPInstanceUID", "blob": "STUDY/SERIES/SOP.dcm", "size", "md5": hex}]}

Every entry is checked before anything is fetched: UIDs (digits and dots), the blob name is exactly the
vendor-neutral layout for those UIDs (a manifest cannot point outside its study), md5 is 32 hex digits.
"""

import re
from dataclasses import dataclass

from ..names import valid_uid  # noqa: F401  (re-exported: feature.py imports it from here)

SCHEMA = "medimaging.orthanc/study-archive/v1"
MANIFEST_FILE = "manifest.json"
_MD5_RE = re.compile(r"[0-9a-f]{32}")


class ManifestError(ValueError):
    """The manifest cannot be used; the text names the study and the entry, never a secret."""


def check_uid(uid, what="StudyInstanceUID"):
    if not valid_uid(uid):
        raise ManifestError("%s must be a DICOM UID (digits and dots, 64 characters at most)" % what)
    return uid


def manifest_blob(study_uid):
    return "%s/%s" % (check_uid(study_uid), MANIFEST_FILE)


@dataclass(frozen=True)
class Entry:
    series_uid: str
    sop_uid: str
    blob: str
    size: int
    md5: str


def parse_manifest(data, study_uid):
    """bytes or dict -> [Entry]. Raises ManifestError."""
    import json
    check_uid(study_uid)
    if isinstance(data, (bytes, bytearray)):
        try:
            data = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ManifestError("manifest of study %s is not valid JSON" % study_uid) from None
    if not isinstance(data, dict):
        raise ManifestError("manifest of study %s is not a JSON object" % study_uid)
    if data.get("schema") != SCHEMA:
        raise ManifestError("manifest of study %s has schema %r, this plugin reads %s"
                            % (study_uid, str(data.get("schema"))[:80], SCHEMA))
    if data.get("StudyInstanceUID") != study_uid:
        raise ManifestError("manifest under %s/ names another study" % study_uid)
    instances = data.get("instances")
    if not isinstance(instances, list):
        raise ManifestError("manifest of study %s has no instances list" % study_uid)
    entries, seen = [], set()
    for index, item in enumerate(instances):
        where = "manifest of study %s, instance #%d" % (study_uid, index)
        if not isinstance(item, dict):
            raise ManifestError("%s is not an object" % where)
        series, sop = item.get("SeriesInstanceUID"), item.get("SOPInstanceUID")
        if not valid_uid(series) or not valid_uid(sop):
            raise ManifestError("%s: SeriesInstanceUID/SOPInstanceUID are not DICOM UIDs" % where)
        expected = "%s/%s/%s.dcm" % (study_uid, series, sop)
        if item.get("blob") != expected:
            raise ManifestError("%s: blob %r is not %s" % (where, str(item.get("blob"))[:200], expected))
        md5 = item.get("md5")
        if not isinstance(md5, str) or not _MD5_RE.fullmatch(md5.lower()):
            raise ManifestError("%s: md5 is not 32 hexadecimal digits" % where)
        size = item.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ManifestError("%s: size is not a byte count" % where)
        if sop in seen:
            raise ManifestError("%s: SOPInstanceUID %s listed twice" % (where, sop))
        seen.add(sop)
        entries.append(Entry(series, sop, expected, size, md5.lower()))
    count = data.get("instance_count")
    if count is not None and count != len(entries):
        raise ManifestError("manifest of study %s says %r instances but lists %d" % (study_uid, count, len(entries)))
    return entries
