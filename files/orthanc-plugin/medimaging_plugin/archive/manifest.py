# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The study archive's layout and its manifest (schema v1): the one definition its writer and readers use.

Layout (vendor neutral, readable without this collection):
  {StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm   the Part 10 file as Orthanc stores it
  {StudyInstanceUID}/manifest.json                              UIDs, counts, sizes, MD5s, dates; no PHI

  {"schema": "medimaging.orthanc/study-archive/v1", "StudyInstanceUID", "StudyDate", "archived_at",
   "first_archived_at", "instance_count", "series_count", "total_bytes", "series": {UID: {"Modality", "count"}},
   "instances": [{"SeriesInstanceUID", "SOPInstanceUID", "blob": "STUDY/SERIES/SOP.dcm", "size", "md5": hex}]}

parse_manifest checks every entry before anything is fetched: UIDs are digits and dots, the blob name is exactly
the layout's name for those UIDs (a manifest cannot point outside its study), md5 is 32 hex digits.

One file, two import paths: this is the Orthanc plugin's medimaging_plugin/archive/manifest.py, and the
collection's plugins/module_utils/archive_manifest.py is a link to it. The plugin is deployed as a copied folder
(the image, the orthanc_host role), where a link would dangle; the collection build keeps links inside the
collection. Hence the standard library only: it runs inside Orthanc and wherever the module runs.
"""

import datetime
import json
import re
from collections import namedtuple

SCHEMA = 'medimaging.orthanc/study-archive/v1'
MANIFEST_FILE = 'manifest.json'
# DICOM UIDs (PS3.5 9.1): digits and dots, at most 64 characters. They become blob names, so anything else is
# refused rather than escaped. fullmatch: `$` also accepts a trailing newline, which named blobs nothing could delete.
_UID_RE = re.compile(r'[0-9]+(\.[0-9]+)*')
_MD5_RE = re.compile(r'[0-9a-f]{32}')
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


class ArchiveError(Exception):
    """A study cannot be archived or restored; the text names the study (by UID) and what to do, never a secret."""


class ManifestError(ArchiveError, ValueError):
    """The manifest cannot be used: nothing of the study is fetched."""


# One instance as the manifest records it; blob is always blob_name(study, series_uid, sop_uid).
Entry = namedtuple('Entry', 'series_uid sop_uid blob size md5')
# A manifest that passed parse_manifest: entries sorted by blob, document as read (to merge and compare).
Manifest = namedtuple('Manifest', 'study_uid study_date entries document')


def valid_uid(value):
    return isinstance(value, str) and len(value) <= 64 and _UID_RE.fullmatch(value) is not None


def check_uid(uid, what='StudyInstanceUID'):
    if not valid_uid(uid):
        raise ArchiveError('%s %s is not a valid DICOM UID (digits and dots, 64 characters at most): it cannot name '
                           'a blob safely' % (what, repr(uid)[:80]))
    return uid


def blob_name(study_uid, series_uid, sop_uid):
    return '%s/%s/%s.dcm' % (check_uid(study_uid, 'StudyInstanceUID'), check_uid(series_uid, 'SeriesInstanceUID'),
                             check_uid(sop_uid, 'SOPInstanceUID'))


def manifest_name(study_uid):
    return '%s/%s' % (check_uid(study_uid, 'StudyInstanceUID'), MANIFEST_FILE)


# ---------------------------------------------------------------- writing ----------------------------------------

def _instance(entry):
    return {'SeriesInstanceUID': entry.series_uid, 'SOPInstanceUID': entry.sop_uid, 'blob': entry.blob,
            'size': entry.size, 'md5': entry.md5}


def build_manifest(study, entries, previous=None, now=None):
    """The manifest document. study: {StudyInstanceUID, StudyDate}; entries: [{SeriesInstanceUID, SOPInstanceUID,
    Modality, size, md5}] of what was just verified; previous: the Manifest read before (or None).

    Instances recorded by the previous manifest but gone locally (deleted after an earlier archive) are kept: the
    manifest describes what the archive holds.
    """
    uid = check_uid(study['StudyInstanceUID'])
    before = previous.document if previous is not None else {}
    held = dict((e.blob, e) for e in (previous.entries if previous is not None else ()))
    modalities = dict((s, (info or {}).get('Modality') or '') for s, info in (before.get('series') or {}).items())
    for item in entries:
        entry = Entry(item['SeriesInstanceUID'], item['SOPInstanceUID'],
                      blob_name(uid, item['SeriesInstanceUID'], item['SOPInstanceUID']), item['size'], item['md5'])
        held[entry.blob] = entry
        modalities[entry.series_uid] = item.get('Modality') or ''
    instances = [_instance(held[name]) for name in sorted(held)]
    series = dict((s, {'Modality': modality, 'count': sum(1 for i in instances if i['SeriesInstanceUID'] == s)})
                  for s, modality in modalities.items())
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime(_TIME_FORMAT)
    return {
        'schema': SCHEMA,
        'StudyInstanceUID': uid,
        'StudyDate': study.get('StudyDate') or '',
        'archived_at': stamp,
        'first_archived_at': before.get('first_archived_at') or stamp,
        'instance_count': len(instances),
        'series_count': len(series),
        'total_bytes': sum(i['size'] for i in instances),
        'series': series,
        'instances': instances,
    }


def manifest_bytes(document):
    """The bytes stored as {StudyInstanceUID}/manifest.json."""
    return json.dumps(document, indent=1, sort_keys=True).encode('utf-8')


def manifest_changed(previous, document):
    """Whether document says more than the previous Manifest (or there is none): archived_at alone is no change."""
    if previous is None:
        return True
    return any(previous.document.get(k) != v for k, v in document.items() if k != 'archived_at')


# ---------------------------------------------------------------- reading ----------------------------------------

def _load(data, study_uid):
    if isinstance(data, (bytes, bytearray)):
        try:
            data = json.loads(bytes(data).decode('utf-8'))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ManifestError('manifest of study %s is not valid JSON' % study_uid)
    if not isinstance(data, dict):
        raise ManifestError('manifest of study %s is not a JSON object' % study_uid)
    if data.get('schema') != SCHEMA:
        raise ManifestError('manifest of study %s has schema %r, this collection reads %s'
                            % (study_uid, str(data.get('schema'))[:80], SCHEMA))
    if data.get('StudyInstanceUID') != study_uid:
        raise ManifestError('manifest under %s/ names another study' % study_uid)
    if not isinstance(data.get('instances'), list):
        raise ManifestError('manifest of study %s has no instances list' % study_uid)
    return data


def _entry(item, study_uid, where):
    if not isinstance(item, dict):
        raise ManifestError('%s is not an object' % where)
    series, sop = item.get('SeriesInstanceUID'), item.get('SOPInstanceUID')
    if not valid_uid(series) or not valid_uid(sop):
        raise ManifestError('%s: SeriesInstanceUID/SOPInstanceUID are not DICOM UIDs' % where)
    expected = '%s/%s/%s.dcm' % (study_uid, series, sop)
    if item.get('blob') != expected:
        raise ManifestError('%s: blob %r is not %s (an entry never points outside its study): nothing of the study '
                            'is fetched' % (where, str(item.get('blob'))[:200], expected))
    md5 = item.get('md5')
    if not isinstance(md5, str) or not _MD5_RE.fullmatch(md5.lower()):
        raise ManifestError('%s: md5 is not 32 hexadecimal digits' % where)
    size = item.get('size')
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ManifestError('%s: size is not a byte count' % where)
    return Entry(series, sop, expected, size, md5.lower())


def parse_manifest(data, study_uid):
    """bytes (as stored) or the decoded document -> Manifest. Raises ManifestError naming the entry at fault."""
    if not valid_uid(study_uid):
        raise ManifestError('StudyInstanceUID must be a DICOM UID (digits and dots, 64 characters at most)')
    document = _load(data, study_uid)
    entries, seen = [], set()
    for index, item in enumerate(document['instances']):
        entry = _entry(item, study_uid, 'manifest of study %s, instance #%d' % (study_uid, index))
        if entry.sop_uid in seen:
            raise ManifestError('manifest of study %s, instance #%d: SOPInstanceUID %s listed twice'
                                % (study_uid, index, entry.sop_uid))
        seen.add(entry.sop_uid)
        entries.append(entry)
    count = document.get('instance_count')
    if count is not None and count != len(entries):
        raise ManifestError('manifest of study %s says %r instances but lists %d' % (study_uid, count, len(entries)))
    study_date = document.get('StudyDate') if isinstance(document.get('StudyDate'), str) else ''
    return Manifest(study_uid, study_date, tuple(sorted(entries, key=lambda e: e.blob)), document)
