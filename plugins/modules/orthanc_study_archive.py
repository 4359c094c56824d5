#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: orthanc_study_archive
short_description: Archive Orthanc studies to an Azure Blob container, verified before any local deletion, and restore them
version_added: 0.2.0
description:
  - Selects studies in a running Orthanc (older than N days by StudyDate, the oldest until local storage is under a
    size, or by StudyInstanceUID) and copies every instance to a Blob container in a vendor-neutral layout,
    C({StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm), each blob stored with the MD5 of its bytes,
    plus a per-study C({StudyInstanceUID}/manifest.json) (UIDs, counts, sizes, MD5s, dates; no names or other PHI).
  - Each study is verified from a fresh listing of the container (every blob present with the expected MD5 and the
    expected number of C(.dcm) blobs) and, with I(verify_cloud_server), found in the cloud DICOM service through
    Orthanc's DICOMweb client, BEFORE anything is deleted. Local copies are deleted only with I(delete_local=true),
    instance by instance, so an instance that arrives during the run is never deleted unarchived.
  - Resumable and idempotent. Blobs whose MD5 already matches Orthanc's recorded MD5 are skipped, so a run that was
    interrupted continues where it stopped and a repeated run uploads nothing (C(changed=false)).
  - With I(state=restored) the studies named in I(study_instance_uids) are brought back into Orthanc from their
    manifests; every blob is checked against the manifest MD5 before it is sent, and Orthanc's recorded MD5 after.
  - Restore reads the manifest first and refuses it, before any blob is read, when an entry names a blob outside its
    study or is not well formed (UIDs, MD5, size), so a tampered manifest cannot make it download other blobs.
  - Check mode reads Orthanc and the container, reports what would move and how many bytes, and writes nothing.
  - Without an account key, SAS or connection string, the Entra ID credential comes from the collection's Azure
    credential options (O(auth_source) and the others below, as in the Azure modules); the identity needs the Storage
    Blob Data Contributor role on the container. No subscription is needed.
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth.credential
author:
  - medimaging.orthanc contributors (@medimaging)
requirements:
  - azure-storage-blob >= 12.14
  - requests
options:
  state:
    description: C(archived) copies (and optionally deletes) the selected studies; C(restored) brings studies back.
    type: str
    choices: [archived, restored]
    default: archived
  orthanc_url:
    description: Base URL of Orthanc's REST API, for example C(http://127.0.0.1:8042).
    type: str
    required: true
  orthanc_username:
    description: Orthanc user (HTTP basic authentication).
    type: str
  orthanc_password:
    description: Password of I(orthanc_username).
    type: str
  ca_bundle:
    description:
      - PEM file of CAs trusted for Orthanc (https), the Blob endpoint and the Entra ID authority (a private CA).
        Verification is never off.
    type: path
  timeout:
    description: Seconds to wait for each Orthanc call.
    type: int
    default: 60
  container:
    description: Name of the Blob container holding the archive. It must exist.
    type: str
    required: true
  account_url:
    description:
      - Blob endpoint of the storage account, for example C(https://ACCOUNT.blob.core.windows.net). https only.
      - Required unless I(connection_string) is set.
    type: str
  account_name:
    description: Storage account name, for I(account_key); taken from I(account_url) when not set.
    type: str
  account_key:
    description: Storage account key (shared key authentication).
    type: str
  connection_string:
    description: Storage connection string (holds the endpoint and the key or a SAS).
    type: str
  sas_token:
    description: Shared access signature with read, write, list (and create) permissions on the container.
    type: str
  blob_api_version:
    description: Storage service API version to send (the Azurite emulator needs an older one than the SDK default).
    type: str
  older_than_days:
    description: Select studies whose StudyDate is more than this many days before today.
    type: int
  max_local_size:
    description:
      - Select the oldest studies (by StudyDate) until Orthanc's storage minus them is at most this size.
      - Bytes, or a size such as C(500GB). Studies without a StudyDate are never selected by size.
    type: str
  study_instance_uids:
    description: Studies named by StudyInstanceUID. Required with I(state=restored).
    type: list
    elements: str
    default: []
  limit:
    description: At most this many studies per run (oldest first); the next run continues.
    type: int
  delete_local:
    description: Delete each study's instances from Orthanc once the study is verified in the archive.
    type: bool
    default: false
  verify_cloud_server:
    description:
      - Name of an Orthanc DICOMweb server (C(/dicom-web/servers/NAME)) that must hold the study (QIDO) before it is
        deleted locally. A study not found there is archived but kept locally.
      - Checked per instance by SOPInstanceUID, as the router counts a send, so a copy the router re-encoded for
        the cloud counts and an instance the cloud refused (dead-lettered by the router) keeps the study local.
    type: str
  verify_download:
    description: Also read every blob back and recompute its MD5 before the study counts as verified (doubles traffic).
    type: bool
    default: false
  concurrency:
    description: Instances copied or restored in parallel.
    type: int
    default: 4
notes:
  - Supports check mode and diff. Blob names, the manifest, logs and results carry UIDs and dates only.
  - Studies that fail are listed in RV(failures) and the task fails after the other studies were processed; nothing of a
    failed study is deleted.
"""

EXAMPLES = r"""
- name: Archive studies older than two years and free local storage
  medimaging.orthanc.orthanc_study_archive:
    orthanc_url: https://pacs.example.org:8042
    orthanc_username: archiver
    orthanc_password: "{{ vault_orthanc_archiver_password }}"
    ca_bundle: /etc/pki/hospital-ca.pem
    account_url: https://hospitalarchive.blob.core.windows.net
    container: dicom-archive
    auth_source: msi
    older_than_days: 730
    verify_cloud_server: azure-dicom
    delete_local: true

- name: See what keeping local storage under 2 TB would move (no change)
  medimaging.orthanc.orthanc_study_archive:
    orthanc_url: http://127.0.0.1:8042
    orthanc_username: archiver
    orthanc_password: "{{ vault_orthanc_archiver_password }}"
    connection_string: "{{ vault_archive_connection_string }}"
    container: dicom-archive
    max_local_size: 2TB
  check_mode: true

- name: Bring a prior study back
  medimaging.orthanc.orthanc_study_archive:
    state: restored
    orthanc_url: http://127.0.0.1:8042
    orthanc_username: archiver
    orthanc_password: "{{ vault_orthanc_archiver_password }}"
    account_url: https://hospitalarchive.blob.core.windows.net
    sas_token: "{{ vault_archive_sas }}"
    container: dicom-archive
    study_instance_uids:
      - 1.2.826.0.1.3680043.8.498.12345
"""

RETURN = r"""
studies:
  description: One entry per selected study (UIDs and dates only).
  returned: always
  type: list
  elements: dict
  sample:
    - StudyInstanceUID: 1.2.826.0.1.3680043.8.498.12345
      StudyDate: "20190314"
      instances: 120
      bytes: 63963136
      uploaded: 120
      skipped: 0
      bytes_uploaded: 63963136
      verified: true
      cloud_verified: true
      deleted_local: 120
counts:
  description: Totals of the run.
  returned: always
  type: dict
  sample:
    studies: 1
    studies_verified: 1
    studies_failed: 0
    instances: 120
    uploaded: 120
    skipped: 0
    deleted_local: 120
    restored: 0
bytes:
  description: Bytes of the selected studies (C(total)) and bytes sent (C(uploaded)) or brought back (C(restored)).
  returned: always
  type: dict
  sample: {total: 63963136, uploaded: 63963136, restored: 0}
failures:
  description: Studies that could not be archived or restored, with the reason; nothing of them was deleted.
  returned: always
  type: list
  elements: dict
  sample: [{StudyInstanceUID: 1.2.3, error: "study 1.2.3 failed verification, nothing deleted: ..."}]
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.medimaging.orthanc.plugins.module_utils import archive_blob, orthanc_rest
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_blob import AzureError, BlobArchive
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_engine import StudyArchiver
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_manifest import ArchiveError, check_uid
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import AZURE_CREDENTIAL_ARGUMENT_SPEC
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_rest import OrthancClient, OrthancError


def argument_spec():
    spec = dict(AZURE_CREDENTIAL_ARGUMENT_SPEC)
    spec.update(orthanc_rest.ORTHANC_REST_ARGUMENT_SPEC)  # ca_bundle: the same option, trusted for both
    spec.update(archive_blob.BLOB_ARGUMENT_SPEC)
    spec.update(
        state=dict(type='str', default='archived', choices=['archived', 'restored']),
        older_than_days=dict(type='int'),
        max_local_size=dict(type='str'),
        study_instance_uids=dict(type='list', elements='str', default=[]),
        limit=dict(type='int'),
        delete_local=dict(type='bool', default=False),
        verify_cloud_server=dict(type='str'),
        verify_download=dict(type='bool', default=False),
        concurrency=dict(type='int', default=4),
    )
    return spec


def _totals(results, failed, state):
    counts = dict(studies=len(results) + len(failed), studies_failed=len(failed),
                  studies_verified=sum(1 for r in results if r.get('verified')),
                  instances=sum(r['instances'] for r in results),
                  uploaded=sum(r.get('uploaded', 0) for r in results),
                  skipped=sum(r.get('skipped', 0) for r in results),
                  deleted_local=sum(r.get('deleted_local', 0) for r in results),
                  restored=sum(r.get('restored', 0) for r in results),
                  already_present=sum(r.get('already_present', 0) for r in results))
    size = dict(total=sum(r.get('bytes', 0) for r in results),
                uploaded=sum(r.get('bytes_uploaded', 0) for r in results),
                restored=sum(r.get('bytes_restored', 0) for r in results))
    changed = bool(counts['uploaded'] or counts['deleted_local'] or counts['restored']) if state == 'archived' \
        else bool(counts['restored'])
    return counts, size, changed


def _diff(results, state):
    if state == 'restored':
        return {'before': {'restored': []}, 'after': {'restored': [r['StudyInstanceUID'] for r in results if r['restored']]}}
    return {'before': {'archived': [], 'deleted_local': []},
            'after': {'archived': [r['StudyInstanceUID'] for r in results if r['uploaded']],
                      'deleted_local': [r['StudyInstanceUID'] for r in results if r['deleted_local']]}}


def _validate(module):
    params = module.params
    if params['concurrency'] < 1 or params['concurrency'] > 32:
        module.fail_json(msg='concurrency must be between 1 and 32, got %d' % params['concurrency'])
    if params['state'] == 'restored' and not params['study_instance_uids']:
        module.fail_json(msg='state=restored needs study_instance_uids: name the studies to bring back')
    if params['state'] == 'archived' and params['older_than_days'] is None and params['max_local_size'] is None \
            and not params['study_instance_uids']:
        module.fail_json(msg='nothing selects studies: set older_than_days, max_local_size or study_instance_uids')
    for uid in params['study_instance_uids']:
        try:
            check_uid(uid, 'study_instance_uids entry')
        except ArchiveError as exc:  # before any call: a UID becomes a blob name
            module.fail_json(msg=str(exc))
    if params['older_than_days'] is not None and params['older_than_days'] < 0:
        module.fail_json(msg='older_than_days must be 0 or more, got %d' % params['older_than_days'])
    if params['max_local_size'] is not None:
        try:
            return human_to_bytes(params['max_local_size'])
        except ValueError as exc:
            module.fail_json(msg='max_local_size %r is not a size (bytes or e.g. 500GB): %s'
                             % (params['max_local_size'], exc))
    return None


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[('connection_string', 'account_url'), ('account_key', 'sas_token', 'connection_string')],
        required_one_of=[('connection_string', 'account_url')],
        required_by={'account_key': 'account_url', 'sas_token': 'account_url'},
    )
    if not orthanc_rest.HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=orthanc_rest.REQUESTS_IMPORT_ERROR)
    if not archive_blob.HAS_BLOB_SDK:
        module.fail_json(msg=missing_required_lib('azure-storage-blob'), exception=archive_blob.BLOB_IMPORT_ERROR)
    max_size = _validate(module)
    params = module.params
    with ThreadPoolExecutor(max_workers=params['concurrency']) as executor:
        out, failed, work = _run(module, params, max_size, executor)
    if failed:
        module.fail_json(msg='%d of %d studies failed (see failures)%s' % (
            len(failed), len(work), '; nothing of them was deleted' if params['state'] == 'archived' else ''), **out)
    module.exit_json(**out)


def _run(module, params, max_size, executor):
    """(result, failures, studies worked on) of the run; fails the module when nothing could start."""
    try:
        orthanc = OrthancClient.from_params(params)
        archive = BlobArchive(archive_blob.make_container_client(params))
        archive.ensure_exists()
        archiver = StudyArchiver(orthanc, archive, executor, check_mode=module.check_mode,
                                 delete_local=params['delete_local'], cloud_server=params['verify_cloud_server'],
                                 verify_download=params['verify_download'])
        if params['state'] == 'archived':
            work = archiver.select(params['older_than_days'], max_size, params['study_instance_uids'], params['limit'])
            action = archiver.archive_study
        else:
            work = [{'StudyInstanceUID': uid} for uid in params['study_instance_uids']]

            def action(study):
                return archiver.restore_study(study['StudyInstanceUID'])
    except (ArchiveError, OrthancError, AzureError, ValueError) as exc:
        module.fail_json(msg=str(exc))

    results, failed = archiver.run(action, work)
    kept = [r['StudyInstanceUID'] for r in results if r.get('cloud_verified') is False]
    if kept and params['delete_local']:
        module.warn('%d studies are archived but kept locally: not found in DICOMweb server %s (%s)'
                    % (len(kept), params['verify_cloud_server'], ', '.join(kept[:5])))
    counts, size, changed = _totals(results, failed, params['state'])
    out = dict(changed=changed, studies=results, counts=counts, bytes=size, failures=failed)
    if module._diff:
        out['diff'] = _diff(results, params['state'])
    return out, failed, work


if __name__ == '__main__':
    main()
