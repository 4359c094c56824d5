# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Archive studies from Orthanc to the Blob archive and restore them: select, copy, verify, delete, manifest.

The layout and manifest are archive_manifest's; the container is an archive_blob.BlobArchive (or anything with its
methods); instance copies run on the executor the caller gives (and shuts down).

Safety rules, in order: every blob carries the MD5 of the bytes sent, which is the MD5 Orthanc recorded when it
stored the file (the service checks it on write; for blobs sent in blocks, above 64 MiB, it checks each block's
and the whole is checked before sending), so a file damaged since is refused;
a study is verified from a fresh listing (every expected blob present with the right MD5, and no
more .dcm blobs than expected) before its manifest is written; nothing is deleted locally unless the
study is verified (and found in the cloud DICOM service when asked); deletion is per verified
instance, so an instance that arrives during the run is never deleted unarchived. A re-run skips
blobs whose MD5 already matches, so an interrupted run simply continues. A restore reads only the blobs a
checked manifest names inside its own study, and checks each one's MD5 before Orthanc stores it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_blob import AzureError
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_manifest import (
    ArchiveError, blob_name, build_manifest, check_uid, manifest_changed, manifest_name)
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_rest import OrthancError


# ---------------------------------------------------------------- pure logic (unit tested) -------------

def parse_study_date(value):
    """DICOM DA 'YYYYMMDD' -> date; None when absent or malformed (such studies are never selected by age)."""
    try:
        return datetime.datetime.strptime((value or '').strip(), '%Y%m%d').date()
    except ValueError:
        return None


def age_query(today, older_than_days):
    """Orthanc /tools/find StudyDate range for 'StudyDate strictly before today - N days'."""
    last_day = today - datetime.timedelta(days=older_than_days + 1)
    return '-' + last_day.strftime('%Y%m%d')


def oldest_first(studies):
    """Sort by StudyDate (unknown dates last: their age is unknown), then UID for a stable order."""
    return sorted(studies, key=lambda s: (s.get('StudyDate') or '99999999', s['StudyInstanceUID']))


def select_for_size(studies, total_size, max_size, size_of):
    """Oldest studies until total_size - their sizes <= max_size. size_of(study) -> bytes (called lazily)."""
    selected, remaining = [], total_size
    for study in oldest_first(studies):
        if remaining <= max_size:
            break
        if not parse_study_date(study.get('StudyDate')):
            continue
        remaining -= size_of(study)
        selected.append(study)
    return selected


def verify_listing(study_uid, expected, listing):
    """Problems (empty list = verified). expected: {blob: md5hex}; listing: {blob: (size, md5hex)} under the study."""
    problems = []
    for name, md5 in sorted(expected.items()):
        if name not in listing:
            problems.append('%s is missing from the container' % name)
        elif listing[name][1] != md5:
            problems.append('%s has MD5 %s, expected %s' % (name, listing[name][1], md5))
    extra = sorted(n for n in listing if n.endswith('.dcm') and n not in expected)
    dcm_count = sum(1 for n in listing if n.endswith('.dcm'))
    if dcm_count != len(expected):
        problems.append('%d .dcm blobs under %s/ but %d expected (%d unexpected, e.g. %s): inspect the container '
                        'before deleting anything' % (dcm_count, study_uid, len(expected), len(extra),
                                                      extra[0] if extra else '-'))
    return problems


def _qido_values(item, tag):
    """Values of a tag in a QIDO-RS answer item: standard DICOM JSON (a list) or Orthanc's client form (a string)."""
    value = (item.get(tag) or {}).get('Value')
    if isinstance(value, list):
        return [str(v) for v in value]
    return [value] if isinstance(value, str) else []


def cloud_missing(qido_answers, local_sops):
    """SOPInstanceUIDs of the local study the cloud does not list, from QIDO-RS .../instances answers.

    Presence is by SOPInstanceUID, as the router counts a send: a copy re-encoded for the cloud (implicit VR
    or big endian to explicit VR little endian) keeps it, and "already stored" (45070) is presence. An
    instance the cloud refused (dead-lettered by the router) is missing, so the study is not verified."""
    held = set()
    for answer in qido_answers:
        for item in answer or []:
            held.update(_qido_values(item, '00080018'))
    return sorted(set(local_sops) - held)


def _first_line(exc):
    return str(exc).splitlines()[0][:500] if str(exc) else ''


# ---------------------------------------------------------------- the engine -----------------------------

class StudyArchiver(object):
    """One run over one Orthanc and one container. check_mode plans and reads, never writes or deletes.

    executor (a concurrent.futures.Executor, owned by the caller) runs the instance copies and restores of every
    study: its worker count is the run's concurrency.
    """

    # Studies in flight at once: one study's serial steps (listings, manifest, deletes) overlap another's copies.
    STUDIES_IN_FLIGHT = 2

    def __init__(self, orthanc, archive, executor, check_mode=False, delete_local=False, cloud_server=None,
                 verify_download=False):
        self.orthanc = orthanc
        self.archive = archive
        self.executor = executor
        self.check_mode = check_mode
        self.delete_local = delete_local
        self.cloud_server = cloud_server
        self.verify_download = verify_download

    # -- selection --
    @staticmethod
    def _study_summary(study):
        tags = study.get('MainDicomTags') or {}
        return {'ID': study['ID'], 'StudyInstanceUID': tags.get('StudyInstanceUID', ''),
                'StudyDate': tags.get('StudyDate', '')}

    def _disk_size(self, study):
        return int(self.orthanc.get_json('/studies/%s/statistics' % study['ID'])['DiskSize'])

    def _study_ids(self, study_uid):
        return [r['ID'] for r in self.orthanc.request('POST', '/tools/lookup', data=study_uid).json()
                if r['Type'] == 'Study']

    def _older_than(self, days, today):
        query = {'StudyDate': age_query(today or datetime.date.today(), days)}
        found = self.orthanc.post_json('/tools/find', {'Level': 'Study', 'Query': query, 'Expand': True})
        return [s for s in map(self._study_summary, found) if parse_study_date(s['StudyDate'])]

    def _over_size(self, max_local_size):
        total = int(self.orthanc.get_json('/statistics')['TotalDiskSize'])
        if total <= max_local_size:
            return []
        studies = [self._study_summary(s) for s in self.orthanc.get_json('/studies', params={'expand': 1})]
        return select_for_size(studies, total, max_local_size, self._disk_size)

    def select(self, older_than_days=None, max_local_size=None, study_uids=None, limit=None, today=None):
        """Studies to archive, oldest first: [{ID, StudyInstanceUID, StudyDate}]."""
        chosen = []
        if older_than_days is not None:
            chosen += self._older_than(older_than_days, today)
        if max_local_size is not None:
            chosen += self._over_size(max_local_size)
        for uid in study_uids or []:
            chosen += [self._study_summary(self.orthanc.get_json('/studies/%s' % study_id))
                       for study_id in self._study_ids(check_uid(uid, 'StudyInstanceUID'))]
        ordered = oldest_first(dict((s['ID'], s) for s in chosen).values())
        return ordered[:limit] if limit else ordered

    def run(self, action, studies):
        """action(study) for each study, STUDIES_IN_FLIGHT at once. Returns (results, failures) in input order.

        A failure of one study never stops the others; the error names the study by UID only.
        """
        def guarded(study):
            try:
                return action(study), None
            except (ArchiveError, OrthancError, AzureError) as exc:
                return None, _first_line(exc)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # A surprise in one study must not stop the others; nothing of it was deleted (deletion is last).
                return None, '%s: %s' % (type(exc).__name__, _first_line(exc))

        results, failures = [], []
        with ThreadPoolExecutor(max_workers=self.STUDIES_IN_FLIGHT) as studies_pool:
            for study, (result, error) in zip(studies, studies_pool.map(guarded, studies)):
                if error is None:
                    results.append(result)
                else:
                    failures.append({'StudyInstanceUID': study['StudyInstanceUID'], 'error': error})
        return results, failures

    # -- local instances --
    def local_instances(self, study):
        """[{ID, SeriesInstanceUID, SOPInstanceUID, Modality, blob, FileSize}] of one study in Orthanc."""
        entries = []
        for series in self.orthanc.get_json('/studies/%s/series' % study['ID']):
            tags = series.get('MainDicomTags') or {}
            for instance in self.orthanc.get_json('/series/%s/instances' % series['ID']):
                sop = (instance.get('MainDicomTags') or {}).get('SOPInstanceUID', '')
                entries.append({'ID': instance['ID'], 'SeriesInstanceUID': tags.get('SeriesInstanceUID', ''),
                                'SOPInstanceUID': sop, 'Modality': tags.get('Modality', ''),
                                'blob': blob_name(study['StudyInstanceUID'], tags.get('SeriesInstanceUID', ''), sop),
                                'FileSize': int(instance.get('FileSize') or 0)})
        return entries

    def local_md5(self, instance_id):
        """Orthanc's recorded MD5 of the DICOM file (StoreMD5ForAttachments), or None when it keeps none."""
        try:
            return self.orthanc.request('GET', '/instances/%s/attachments/dicom/md5' % instance_id).text.strip().lower()
        except OrthancError as exc:
            if exc.status in (400, 404):
                return None
            raise

    def _copy_one(self, entry, listing):
        """Upload one instance unless the same bytes are already there. Returns (uploaded_bytes, md5, size)."""
        have = listing.get(entry['blob'])
        recorded = None
        if have:
            # Resuming: Orthanc's recorded MD5 (a 32-byte answer) says whether the blob holds these bytes.
            recorded = self.local_md5(entry['ID'])
            if recorded and have[1] == recorded:
                return 0, recorded, have[0]
        if self.check_mode:
            return entry['FileSize'], recorded, entry['FileSize']
        # The /data route answers the bytes and, in its ETag, the MD5 recorded on storage: one request, not two.
        data, tagged = self.orthanc.get_attachment('/instances/%s/attachments/dicom/data' % entry['ID'])
        recorded = tagged or (recorded if have else self.local_md5(entry['ID']))  # no ETag before Orthanc 1.9.2
        md5 = recorded or hashlib.md5(data).hexdigest()  # nosec - integrity check, as Azure's Content-MD5
        if have and have[1] == md5:
            return 0, md5, len(data)
        try:
            # upload refuses bytes whose MD5 is not Orthanc's recorded one (the service checks it for a single Put
            # Blob): a copy of corrupted local storage is refused without hashing every instance here as well.
            self.archive.upload(entry['blob'], data, md5)
        except (AzureError, ArchiveError):
            actual = hashlib.md5(data).hexdigest()  # nosec - integrity check: tell corruption from a failed upload
            if actual != md5:
                raise ArchiveError('instance %s: Orthanc returned bytes with MD5 %s but recorded %s when it stored '
                                   'them (local storage corrupted?): not archived'
                                   % (entry['SOPInstanceUID'], actual, md5))
            raise
        return len(data), md5, len(data)

    # -- one study --
    def archive_study(self, study):
        uid = check_uid(study['StudyInstanceUID'], 'StudyInstanceUID')
        result = {'StudyInstanceUID': uid, 'StudyDate': study.get('StudyDate', ''), 'instances': 0, 'bytes': 0,
                  'uploaded': 0, 'skipped': 0, 'bytes_uploaded': 0, 'verified': False, 'cloud_verified': None,
                  'deleted_local': 0}
        entries = self.local_instances(study)
        result['instances'] = len(entries)
        listing = self.archive.listing(uid)
        copies = list(self.executor.map(lambda e: self._copy_one(e, listing), entries))
        for entry, (sent, md5, size) in zip(entries, copies):
            entry['md5'], entry['size'] = md5, size
            result['bytes'] += size
            result['uploaded' if sent else 'skipped'] += 1
            result['bytes_uploaded'] += sent
        if self.check_mode:
            result['deleted_local'] = len(entries) if self.delete_local else 0
            return result
        self._verify_and_record(study, entries)
        result['verified'] = True
        if self.cloud_server:
            found, message = self.check_cloud(uid, [e['SOPInstanceUID'] for e in entries])
            result['cloud_verified'] = found
            if not found:
                result['cloud_message'] = message
        if self.delete_local and (self.cloud_server is None or result['cloud_verified']):
            result['deleted_local'] = self._delete_verified(entries)
        return result

    def _verify_and_record(self, study, entries):
        """Verify the study from a fresh listing (and by download when asked), then write its manifest."""
        uid = study['StudyInstanceUID']
        listing = self.archive.listing(uid)
        # The fresh listing shows whether a manifest exists: a study archived for the first time costs no 404.
        # A previous manifest that fails its checks (tampered) fails the study: nothing is deleted.
        previous = self.archive.read_manifest(uid) if manifest_name(uid) in listing else None
        manifest = build_manifest(study, entries, previous)
        problems = verify_listing(uid, dict((e['blob'], e['md5']) for e in manifest['instances']), listing)
        if self.verify_download and not problems:
            problems = self._verify_by_download(entries)
        if problems:
            raise ArchiveError('study %s failed verification, nothing deleted: %s' % (uid, '; '.join(problems[:5])))
        if manifest_changed(previous, manifest):
            self.archive.write_manifest(manifest)

    def _verify_by_download(self, entries):
        problems = []
        for entry in entries:
            md5 = hashlib.md5(self.archive.download(entry['blob'])).hexdigest()  # nosec - integrity check
            if md5 != entry['md5']:
                problems.append('%s read back with MD5 %s, expected %s' % (entry['blob'], md5, entry['md5']))
        return problems

    def check_cloud(self, study_uid, local_sops, page=200):
        """(found, message): every local instance is listed by the cloud (QIDO-RS per instance, paged: Azure
        answers at most 200 instances per query)."""
        answers, offset = [], 0
        while True:
            body = {'Uri': '/studies/%s/instances' % study_uid,
                    'Arguments': {'includefield': '00080018', 'limit': str(page), 'offset': str(offset)}}
            try:
                answer = self.orthanc.post_json('/dicom-web/servers/%s/qido' % self.cloud_server, body)
            except OrthancError as exc:
                return False, ('QIDO through /dicom-web/servers/%s failed (study not there?): %s'
                               % (self.cloud_server, exc))
            answers.append(answer)
            if not isinstance(answer, list) or len(answer) < page:
                break
            offset += page
        missing = cloud_missing(answers, local_sops)
        if not missing:
            return True, 'found in the cloud DICOM service'
        return False, ('the cloud DICOM service lacks %d of %d instances (e.g. %s; refused ones are in the '
                       'router\'s dead_instances)' % (len(missing), len(local_sops), missing[0]))

    def _delete_verified(self, entries):
        """Delete exactly the verified instances (not the study): anything that arrived meanwhile stays."""
        deleted = 0
        for entry in entries:
            if self.orthanc.request('DELETE', '/instances/%s' % entry['ID'], expected=(200, 404)).status_code == 200:
                deleted += 1
        return deleted

    # -- restore --
    def restore_study(self, study_uid):
        """Bring a study back from its manifest. The manifest is checked first (archive_manifest.parse_manifest):
        an entry naming a blob outside the study fails the study before any blob is read."""
        uid = check_uid(study_uid, 'StudyInstanceUID')
        manifest = self.archive.read_manifest(uid)
        if manifest is None:
            raise ArchiveError('study %s has no %s in the container: it was not archived there'
                               % (uid, manifest_name(uid)))
        todo, present = self._restore_plan(uid, manifest.entries)
        result = {'StudyInstanceUID': uid, 'StudyDate': manifest.study_date, 'instances': len(manifest.entries),
                  'restored': len(todo), 'already_present': present}
        if self.check_mode:
            result['bytes_restored'] = sum(e.size for e in todo)
        else:
            result['bytes_restored'] = sum(self.executor.map(self._restore_one, todo))
        return result

    def _restore_plan(self, uid, entries):
        """(entries to restore, count already in Orthanc); an instance present with other bytes is never overwritten."""
        local = self._local_md5_by_sop(uid)
        todo, present = [], 0
        for entry in entries:
            md5 = local.get(entry.sop_uid)
            if md5 is None:
                todo.append(entry)
            elif md5 == entry.md5:
                present += 1
            else:
                raise ArchiveError('study %s: instance %s is in Orthanc with MD5 %s, the archive holds %s: not '
                                   'overwritten, resolve by hand' % (uid, entry.sop_uid, md5, entry.md5))
        return todo, present

    def _local_md5_by_sop(self, study_uid):
        md5s = {}
        for study_id in self._study_ids(study_uid):
            for instance in self.orthanc.get_json('/studies/%s/instances' % study_id):
                sop = (instance.get('MainDicomTags') or {}).get('SOPInstanceUID')
                md5s[sop] = self.local_md5(instance['ID'])
        return md5s

    def _restore_one(self, entry):
        data = self.archive.download(entry.blob)
        md5 = hashlib.md5(data).hexdigest()  # nosec - integrity check
        if md5 != entry.md5:
            raise ArchiveError('blob %s has MD5 %s but the manifest records %s: not restored'
                               % (entry.blob, md5, entry.md5))
        answer = self.orthanc.upload_instance(data)
        stored = self.local_md5(answer['ID'])
        if stored and stored != md5:
            raise ArchiveError('instance %s stored in Orthanc with MD5 %s, expected %s'
                               % (entry.sop_uid, stored, md5))
        return len(data)
