# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Blob container seen as the study archive (azure-storage-blob): listings per study, uploads that carry the
MD5 Orthanc recorded, manifests read and written through archive_manifest.

The container client's credential is an account key, a SAS, a connection string, or an Entra ID credential from
the collection's auth engine (azure_auth.resolve_auth without a subscription: Blob needs none).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import traceback

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

from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_manifest import (
    ArchiveError, check_uid, manifest_bytes, manifest_name, parse_manifest)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import build_credential, resolve_auth

# Module options of the Blob side besides the Azure credential options (documented by the module).
BLOB_ARGUMENT_SPEC = dict(
    container=dict(type='str', required=True),
    account_url=dict(type='str'),
    account_name=dict(type='str'),
    account_key=dict(type='str', no_log=True),
    connection_string=dict(type='str', no_log=True),
    sas_token=dict(type='str', no_log=True),
    blob_api_version=dict(type='str'),
)


def md5_hex_of_blob(content_md5):
    """The SDK gives Content-MD5 as bytes/bytearray (or None); the manifest and Orthanc use hex."""
    return bytes(content_md5).hex() if content_md5 else None


def account_name_from_url(account_url):
    """'https://NAME.blob.core.windows.net' -> NAME; path-style 'https://127.0.0.1:10000/NAME' -> NAME."""
    parsed = urlparse(account_url)
    host = parsed.hostname or ''
    if re.match(r'[0-9.]+\Z', host) or host == 'localhost':
        return parsed.path.strip('/').split('/')[0] or None
    return host.split('.')[0] or None


def token_credential(params, environ=None):
    """An Entra ID credential from the auth engine (client secret, workload/managed identity, CLI, credential file)."""
    return build_credential(resolve_auth(params, environ, subscription=False))


def _shared_credential(params, account_url):
    """An account key or SAS credential, or None when neither is set."""
    if params.get('account_key'):
        from azure.core.credentials import AzureNamedKeyCredential
        name = params.get('account_name') or account_name_from_url(account_url)
        if not name:
            raise ArchiveError('cannot tell the storage account name from %s: set account_name' % account_url)
        return AzureNamedKeyCredential(name, params['account_key'])
    if params.get('sas_token'):
        from azure.core.credentials import AzureSasCredential
        return AzureSasCredential(params['sas_token'].lstrip('?'))
    return None


def make_container_client(params, credential_factory=token_credential):
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
    credential = _shared_credential(params, account_url) or credential_factory(params)
    return ContainerClient(account_url, container, credential=credential, **kwargs)


def azure_message(exc):
    """'[code] first line' of an Azure SDK error, short enough for a result."""
    code = getattr(exc, 'error_code', None) or getattr(getattr(exc, 'response', None), 'status_code', None)
    text = str(getattr(exc, 'message', None) or exc).splitlines()[0][:300]
    return '%s%s' % ('[%s] ' % code if code else '', text)


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
            raise ArchiveError('cannot reach Blob container %s: %s' % (self.container.container_name,
                                                                       azure_message(exc)))

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
        """The study's Manifest, checked entry by entry (ManifestError), or None when the study has none."""
        try:
            data = self.download(manifest_name(study_uid))
        except ResourceNotFoundError:
            return None
        return parse_manifest(data, study_uid)

    def write_manifest(self, document):
        data = manifest_bytes(document)
        md5 = hashlib.md5(data).hexdigest()  # nosec - integrity check, as Azure's Content-MD5
        name = manifest_name(document['StudyInstanceUID'])
        self.upload(name, data, md5, content_type='application/json')
        properties = self.container.get_blob_client(name).get_blob_properties()
        stored = md5_hex_of_blob(properties.content_settings.content_md5)
        if stored != md5:
            raise ArchiveError('manifest %s was stored with MD5 %s instead of %s' % (name, stored, md5))
