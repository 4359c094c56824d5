# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Archive studies from Orthanc to a Blob container and restore them: select, copy, verify, delete, manifest.

Layout (vendor neutral, readable without this collection):
  {StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm   the Part 10 file as Orthanc stores it
  {StudyInstanceUID}/manifest.json                              UIDs, counts, sizes, MD5s, dates; no PHI

Safety rules, in order: every blob carries the MD5 of the bytes sent, which is the MD5 Orthanc recorded when it
stored the file (the service checks it on write; for blobs sent in blocks, above 64 MiB, it checks each block's
and the whole is checked here before sending), so a file damaged since is refused;
a study is verified from a fresh listing (every expected blob present with the right MD5, and no
more .dcm blobs than expected) before its manifest is written; nothing is deleted locally unless the
study is verified (and found in the cloud DICOM service when asked); deletion is per verified
instance, so an instance that arrives during the run is never deleted unarchived. A re-run skips
blobs whose MD5 already matches, so an interrupted run simply continues.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os
import re
import traceback
from concurrent.futures import ThreadPoolExecutor

try:
    from urllib.parse import urlparse
except ImportError:  # pragma: no cover - Python 2 is not supported
    from urlparse import urlparse

try:
    from azure.core.exceptions import AzureError, ResourceNotFoundError
    from azure.storage.blob import ContainerClient, ContentSettings
    HAS_BLOB_SDK = True
    BLOB_IMPORT_ERROR = None
except ImportError:
    HAS_BLOB_SDK = False
    BLOB_IMPORT_ERROR = traceback.format_exc()
    AzureError = ResourceNotFoundError = Exception

from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_rest import OrthancError

MANIFEST_SCHEMA = 'medimaging.orthanc/study-archive/v1'
MANIFEST_FILE = 'manifest.json'
# DICOM UIDs (PS3.5 9.1): digits and dots, at most 64 characters. They become blob names, so anything
# else is refused rather than escaped.
# \Z, not $: `$` also accepts a trailing newline, and such a UID named blobs nothing could delete.
UID_RE = re.compile(r'[0-9]+(\.[0-9]+)*\Z')


class ArchiveError(Exception):
    """A study could not be archived or restored; the text names the study (by UID) and what to do."""


# ---------------------------------------------------------------- pure logic (unit tested) -------------

def check_uid(uid, what):
    if not isinstance(uid, str) or len(uid) > 64 or not UID_RE.match(uid):
        raise ArchiveError('%s %r is not a valid DICOM UID (digits and dots, 64 characters at most): '
                           'it cannot name a blob safely' % (what, uid))
    return uid


def blob_name(study_uid, series_uid, sop_uid):
    return '%s/%s/%s.dcm' % (check_uid(study_uid, 'StudyInstanceUID'), check_uid(series_uid, 'SeriesInstanceUID'),
                             check_uid(sop_uid, 'SOPInstanceUID'))


def manifest_name(study_uid):
    return '%s/%s' % (check_uid(study_uid, 'StudyInstanceUID'), MANIFEST_FILE)


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


def md5_hex_of_blob(content_md5):
    """The SDK gives Content-MD5 as bytes/bytearray (or None); the manifest and Orthanc use hex."""
    return bytes(content_md5).hex() if content_md5 else None


def build_manifest(study, entries, previous=None, now=None):
    """The per-study manifest. entries: [{SeriesInstanceUID, SOPInstanceUID, Modality, blob, size, md5}].

    Instances recorded by an earlier manifest but gone locally (deleted after an earlier archive) are
    kept: the manifest describes what the archive holds.
    """
    merged = {}
    for entry in (previous or {}).get('instances', []):
        merged[entry['blob']] = entry
    for entry in entries:
        merged[entry['blob']] = dict((k, entry[k]) for k in ('SeriesInstanceUID', 'SOPInstanceUID', 'blob',
                                                             'size', 'md5'))
    series = {}
    for entry in entries:
        series.setdefault(entry['SeriesInstanceUID'], {'Modality': entry.get('Modality') or ''})
    for uid, info in (previous or {}).get('series', {}).items():
        series.setdefault(uid, info)
    instances = sorted(merged.values(), key=lambda e: e['blob'])
    for uid in series:
        series[uid]['count'] = sum(1 for e in instances if e['SeriesInstanceUID'] == uid)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return {
        'schema': MANIFEST_SCHEMA,
        'StudyInstanceUID': study['StudyInstanceUID'],
        'StudyDate': study.get('StudyDate') or '',
        'archived_at': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'first_archived_at': (previous or {}).get('first_archived_at') or now.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'instance_count': len(instances),
        'series_count': len(series),
        'total_bytes': sum(e['size'] for e in instances),
        'series': series,
        'instances': instances,
    }


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


def account_name_from_url(account_url):
    """'https://NAME.blob.core.windows.net' -> NAME; path-style 'https://127.0.0.1:10000/NAME' -> NAME."""
    parsed = urlparse(account_url)
    host = parsed.hostname or ''
    if re.match(r'[0-9.]+\Z', host) or host == 'localhost':
        return parsed.path.strip('/').split('/')[0] or None
    return host.split('.')[0] or None


# ---------------------------------------------------------------- Blob container ------------------------

def make_container_client(params, credential_factory=None):
    """ContainerClient from the module's Blob options (connection string, key, SAS or a token credential)."""
    kwargs = {}
    if params.get('blob_api_version'):
        kwargs['api_version'] = params['blob_api_version']
    if params.get('ca_bundle'):
        kwargs['connection_verify'] = params['ca_bundle']
    container = params['container']
    if params.get('connection_string'):
        return ContainerClient.from_connection_string(params['connection_string'], container, **kwargs)
    account_url = params.get('account_url')
    if not account_url:
        raise ArchiveError('set account_url (or connection_string) to reach the Blob container %s' % container)
    if not account_url.lower().startswith('https://'):
        raise ArchiveError('account_url must be https:// (patient images never travel in clear), got %s' % account_url)
    if params.get('account_key'):
        from azure.core.credentials import AzureNamedKeyCredential
        name = params.get('account_name') or account_name_from_url(account_url)
        if not name:
            raise ArchiveError('cannot tell the storage account name from %s: set account_name' % account_url)
        credential = AzureNamedKeyCredential(name, params['account_key'])
    elif params.get('sas_token'):
        from azure.core.credentials import AzureSasCredential
        credential = AzureSasCredential(params['sas_token'].lstrip('?'))
    else:
        credential = (credential_factory or token_credential)(params)
    return ContainerClient(account_url, container, credential=credential, **kwargs)


def token_credential(params):
    """An Entra ID credential built by the collection's Azure auth engine (client secret, workload/managed identity, CLI)."""
    from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import (
        CLOUDS, AuthSettings, build_credential)
    env = os.environ
    authority = params.get('authority_host') or env.get('AZURE_AUTHORITY_HOST')
    settings = AuthSettings(
        source=params.get('auth_source') or 'auto', subscription_id=None,
        tenant=params.get('tenant') or env.get('AZURE_TENANT_ID'),
        client_id=params.get('client_id') or env.get('AZURE_CLIENT_ID'),
        secret=params.get('secret') or env.get('AZURE_CLIENT_SECRET'),
        arm_endpoint=None, authority_host=(authority or CLOUDS['AzureCloud']['authority_host']).rstrip('/'),
        arm_audience=None, ca_bundle=params.get('ca_bundle'), custom_authority=bool(authority),
        federated_token_file=env.get('AZURE_FEDERATED_TOKEN_FILE'))
    return build_credential(settings)


class BlobArchive(object):
    """The container seen as the archive: listings per study, uploads with MD5, manifests."""

    # Up to this size the SDK sends a blob in one Put Blob (max_single_put_size, 64 MiB unless the client is built
    # with another); above, in blocks. Were a client's limit lower, whole-blob MD5s on blocks are refused: fail-safe.
    SINGLE_PUT_LIMIT = 64 * 1024 * 1024

    def __init__(self, container_client):
        self.container = container_client

    def ensure_exists(self):
        try:
            if not self.container.exists():
                raise ArchiveError('Blob container %s does not exist: create it first (medimaging.orthanc.'
                                   'azure_blob_container or the blob_archive role)' % self.container.container_name)
        except AzureError as exc:
            raise ArchiveError('cannot reach Blob container %s: %s' % (self.container.container_name, _azure_msg(exc)))

    def listing(self, study_uid):
        """{blob name: (size, md5hex)} for everything under {study_uid}/."""
        prefix = check_uid(study_uid, 'StudyInstanceUID') + '/'
        return dict((b.name, (b.size, md5_hex_of_blob(b.content_settings.content_md5)))
                    for b in self.container.list_blobs(name_starts_with=prefix))

    def upload(self, name, data, md5_hex, content_type='application/dicom'):
        """Store data under name with md5_hex as its MD5; ArchiveError when data does not have that MD5."""
        md5 = bytearray(bytes.fromhex(md5_hex))
        settings = ContentSettings(content_type=content_type, content_md5=md5)  # content_md5: stored with the blob
        blob = self.container.get_blob_client(name)
        if len(data) > self.SINGLE_PUT_LIMIT:
            # Sent in blocks, whose own MD5s validate_content makes the service check; nothing checks the whole.
            actual = hashlib.md5(data).hexdigest()  # nosec - integrity check, as Azure's Content-MD5
            if actual != md5_hex:
                raise ArchiveError('blob %s: the bytes have MD5 %s, not %s: not uploaded' % (name, actual, md5_hex))
            blob.upload_blob(data, overwrite=True, validate_content=True, content_settings=settings)
            return
        # One Put Blob: its Content-MD5 header (transactional_content_md5) is checked by the service against the
        # bytes received, so they need no hashing here (validate_content would send the same header after hashing).
        answer = blob.upload_blob(data, overwrite=True, transactional_content_md5=md5, content_settings=settings)
        # The service answers the MD5 of what it stored (as validate_content checked it): it must be ours.
        stored = md5_hex_of_blob((answer or {}).get('content_md5'))
        if stored is not None and stored != md5_hex:
            raise ArchiveError('blob %s was stored with MD5 %s instead of %s' % (name, stored, md5_hex))

    def download(self, name):
        return self.container.download_blob(name, validate_content=True).readall()

    def read_manifest(self, study_uid):
        try:
            data = self.download(manifest_name(study_uid))
        except ResourceNotFoundError:
            return None
        return json.loads(data.decode('utf-8'))

    def write_manifest(self, manifest):
        data = json.dumps(manifest, indent=1, sort_keys=True).encode('utf-8')
        md5 = hashlib.md5(data).hexdigest()  # nosec - integrity check, as Azure's Content-MD5
        name = manifest_name(manifest['StudyInstanceUID'])
        self.upload(name, data, md5, content_type='application/json')
        stored = md5_hex_of_blob(self.container.get_blob_client(name).get_blob_properties().content_settings.content_md5)
        if stored != md5:
            raise ArchiveError('manifest %s was stored with MD5 %s instead of %s' % (name, stored, md5))


def _azure_msg(exc):
    code = getattr(exc, 'error_code', None) or getattr(getattr(exc, 'response', None), 'status_code', None)
    text = str(getattr(exc, 'message', None) or exc).splitlines()[0][:300]
    return '%s%s' % ('[%s] ' % code if code else '', text)


# ---------------------------------------------------------------- the engine -----------------------------

class StudyArchiver(object):
    """One run over one Orthanc and one container. check_mode plans and reads, never writes or deletes."""

    # Studies in flight at once: one study's serial steps (listings, manifest, deletes) overlap another's copies.
    STUDIES_IN_FLIGHT = 2

    def __init__(self, orthanc, archive, concurrency=4, check_mode=False, delete_local=False,
                 cloud_server=None, verify_download=False):
        self.orthanc = orthanc
        self.archive = archive
        self.concurrency = max(1, int(concurrency))
        self._pool = None  # instance copies of all studies share `concurrency` workers (see run)
        self.check_mode = check_mode
        self.delete_local = delete_local
        self.cloud_server = cloud_server
        self.verify_download = verify_download

    # -- selection --
    def _study_summary(self, study):
        tags = study.get('MainDicomTags') or {}
        return {'ID': study['ID'], 'StudyInstanceUID': tags.get('StudyInstanceUID', ''),
                'StudyDate': tags.get('StudyDate', '')}

    def _disk_size(self, study):
        return int(self.orthanc.get_json('/studies/%s/statistics' % study['ID'])['DiskSize'])

    def select(self, older_than_days=None, max_local_size=None, study_uids=None, limit=None, today=None):
        """Studies to archive, oldest first: [{ID, StudyInstanceUID, StudyDate}]."""
        chosen = {}
        if older_than_days is not None:
            query = {'StudyDate': age_query(today or datetime.date.today(), older_than_days)}
            for study in self.orthanc.post_json('/tools/find', {'Level': 'Study', 'Query': query, 'Expand': True}):
                summary = self._study_summary(study)
                if parse_study_date(summary['StudyDate']):
                    chosen[summary['ID']] = summary
        if max_local_size is not None:
            total = int(self.orthanc.get_json('/statistics')['TotalDiskSize'])
            if total > max_local_size:
                studies = [self._study_summary(s) for s in self.orthanc.get_json('/studies', params={'expand': 1})]
                for summary in select_for_size(studies, total, max_local_size, self._disk_size):
                    chosen[summary['ID']] = summary
        for uid in study_uids or []:
            check_uid(uid, 'StudyInstanceUID')
            found = [r for r in self.orthanc.request('POST', '/tools/lookup', data=uid).json() if r['Type'] == 'Study']
            for resource in found:
                chosen[resource['ID']] = self._study_summary(self.orthanc.get_json('/studies/%s' % resource['ID']))
        ordered = oldest_first(chosen.values())
        return ordered[:limit] if limit else ordered

    def _map(self, function, items):
        if self._pool is not None:
            return list(self._pool.map(function, items))
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(function, items))

    def run(self, action, studies):
        """action(study) for each study, two studies in flight. Returns (results, failures) in input order.

        A failure of one study never stops the others; the error names the study by UID only.
        """
        def guarded(study):
            try:
                return action(study), None
            except (ArchiveError, OrthancError, AzureError) as exc:
                return None, str(exc).splitlines()[0][:500]
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # A surprise in one study must not stop the others; nothing of it was deleted (deletion is last).
                return None, '%s: %s' % (type(exc).__name__, str(exc).splitlines()[0][:500] if str(exc) else '')

        results, failures = [], []
        with ThreadPoolExecutor(max_workers=self.concurrency) as self._pool:
            with ThreadPoolExecutor(max_workers=self.STUDIES_IN_FLIGHT) as studies_pool:
                for study, (result, error) in zip(studies, studies_pool.map(guarded, studies)):
                    if error is None:
                        results.append(result)
                    else:
                        failures.append({'StudyInstanceUID': study['StudyInstanceUID'], 'error': error})
        self._pool = None
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
        copies = self._map(lambda e: self._copy_one(e, listing), entries)
        for entry, (sent, md5, size) in zip(entries, copies):
            entry['md5'], entry['size'] = md5, size
            result['bytes'] += size
            result['uploaded' if sent else 'skipped'] += 1
            result['bytes_uploaded'] += sent
        if self.check_mode:
            result['deleted_local'] = len(entries) if self.delete_local else 0
            return result

        listing = self.archive.listing(uid)
        # The fresh listing shows whether a manifest exists: a study archived for the first time costs no 404.
        previous = self.archive.read_manifest(uid) if manifest_name(uid) in listing else None
        manifest = build_manifest(study, entries, previous)
        problems = verify_listing(uid, dict((e['blob'], e['md5']) for e in manifest['instances']), listing)
        if self.verify_download and not problems:
            problems = self._verify_by_download(entries)
        if problems:
            raise ArchiveError('study %s failed verification, nothing deleted: %s' % (uid, '; '.join(problems[:5])))
        result['verified'] = True
        if previous is None or _manifest_changed(previous, manifest):
            self.archive.write_manifest(manifest)
        if self.cloud_server:
            found, message = self.check_cloud(uid, [e['SOPInstanceUID'] for e in entries])
            result['cloud_verified'] = found
            if not found:
                result['cloud_message'] = message
        if self.delete_local and (self.cloud_server is None or result['cloud_verified']):
            result['deleted_local'] = self._delete_verified(entries)
        return result

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
                return False, 'QIDO through /dicom-web/servers/%s failed (study not there?): %s' % (self.cloud_server, exc)
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
        uid = check_uid(study_uid, 'StudyInstanceUID')
        manifest = self.archive.read_manifest(uid)
        if manifest is None:
            raise ArchiveError('study %s has no %s in the container: it was not archived there' % (uid, manifest_name(uid)))
        if manifest.get('schema') != MANIFEST_SCHEMA:
            raise ArchiveError('manifest of study %s has schema %r, this collection reads %s'
                               % (uid, manifest.get('schema'), MANIFEST_SCHEMA))
        local = self._local_md5_by_sop(uid)
        result = {'StudyInstanceUID': uid, 'StudyDate': manifest.get('StudyDate', ''),
                  'instances': manifest['instance_count'], 'restored': 0, 'already_present': 0, 'bytes_restored': 0}
        todo = []
        for entry in manifest['instances']:
            present = local.get(entry['SOPInstanceUID'])
            if present is None:
                todo.append(entry)
            elif present == entry['md5']:
                result['already_present'] += 1
            else:
                raise ArchiveError('study %s: instance %s is in Orthanc with MD5 %s, the archive holds %s: not '
                                   'overwritten, resolve by hand' % (uid, entry['SOPInstanceUID'], present, entry['md5']))
        if self.check_mode:
            result['restored'] = len(todo)
            result['bytes_restored'] = sum(e['size'] for e in todo)
            return result
        sizes = self._map(self._restore_one, todo)
        result['restored'] = len(todo)
        result['bytes_restored'] = sum(sizes)
        return result

    def _local_md5_by_sop(self, study_uid):
        found = [r for r in self.orthanc.request('POST', '/tools/lookup', data=study_uid).json() if r['Type'] == 'Study']
        md5s = {}
        for resource in found:
            for instance in self.orthanc.get_json('/studies/%s/instances' % resource['ID']):
                sop = (instance.get('MainDicomTags') or {}).get('SOPInstanceUID')
                md5s[sop] = self.local_md5(instance['ID'])
        return md5s

    def _restore_one(self, entry):
        data = self.archive.download(entry['blob'])
        md5 = hashlib.md5(data).hexdigest()  # nosec - integrity check
        if md5 != entry['md5']:
            raise ArchiveError('blob %s has MD5 %s but the manifest records %s: not restored'
                               % (entry['blob'], md5, entry['md5']))
        answer = self.orthanc.upload_instance(data)
        stored = self.local_md5(answer['ID'])
        if stored and stored != md5:
            raise ArchiveError('instance %s stored in Orthanc with MD5 %s, expected %s'
                               % (entry['SOPInstanceUID'], stored, md5))
        return len(data)


def _manifest_changed(previous, manifest):
    ignore = ('archived_at',)
    return any(previous.get(k) != v for k, v in manifest.items() if k not in ignore)
