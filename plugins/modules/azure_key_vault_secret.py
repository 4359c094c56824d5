#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_key_vault_secret
short_description: Set, update or delete a secret in an Azure Key Vault
version_added: 0.1.0
description:
  - Writes a secret through the vault's data plane (the vault URI), as a workload identity, a managed identity or a
    service principal with the Key Vault Secrets Officer role on the vault.
  - The value is compared with the current version in memory and never appears in the result, the diff or the
    logs. A new value makes a new version; a change of content type, enabled flag, expiry or tags alone updates the
    current version without a new one.
  - With O(state=absent) the secret is deleted (soft delete). A deleted secret keeps its name until it is purged
    or its retention ends; O(recover=true) brings it back before setting it.
options:
  vault_uri:
    description: Data-plane URI of the vault, as M(medimaging.orthanc.azure_key_vault) returns it.
    type: str
    required: true
  name:
    description: Secret name, 1-127 letters, digits and hyphens.
    type: str
    required: true
  value:
    description: The secret value (at most 25 KiB). Required with O(state=present).
    type: str
  content_type:
    description: A hint of what the value is, for example V(text/plain) or V(password).
    type: str
  enabled:
    description: Whether the secret can be read.
    type: bool
  expires:
    description: Expiry as an ISO 8601 UTC time, for example V(2027-01-31T00:00:00Z).
    type: str
  tags:
    description: Tags of the secret. When set, the secret carries exactly these tags.
    type: dict
  recover:
    description: When the secret is deleted but recoverable, recover it first (Key Vault refuses a plain set then).
    type: bool
    default: false
  verify_challenge_resource:
    description: Check that the vault's authentication challenge names a Key Vault host of the vault's domain.
      Turn it off only for a local emulator whose address is not a vault host name.
    type: bool
    default: true
  state:
    description: Whether the secret exists.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: The PostgreSQL password of Orthanc, in the vault
  medimaging.orthanc.azure_key_vault_secret:
    vault_uri: "{{ vault.vault_uri }}"
    name: orthanc-postgres-password
    value: "{{ orthanc_postgres_password }}"
    content_type: password
    expires: "2027-01-31T00:00:00Z"
'''

RETURN = r'''
id:
  description: Identifier of the current version (C(<vault>/secrets/<name>/<version>)); never the value.
  returned: always
  type: str
version:
  description: The current version (empty in check mode before creation and after deletion).
  returned: always
  type: str
'''

import datetime
import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_clients import AzureClients
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError, from_exception
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    clients_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import AZURE_AUTH_ARGUMENT_SPEC

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from azure.keyvault.secrets import SecretClient
    from azure.core.exceptions import ResourceNotFoundError
    HAS_SDK = True
except ImportError:
    HAS_SDK = False

NAME = re.compile(r'[0-9A-Za-z-]{1,127}\Z')
MAX_VALUE = 25 * 1024
HIDDEN = '(hidden)'


def parse_expiry(module, text):
    if text is None:
        return None
    try:
        when = datetime.datetime.strptime(text.replace('+00:00', 'Z'), '%Y-%m-%dT%H:%M:%SZ')
    except ValueError:
        invalid(module, 'expires', '%r is not an ISO 8601 UTC time' % text, 'Write it as 2027-01-31T00:00:00Z')
    return when.replace(tzinfo=datetime.timezone.utc)


def check_input(module):
    params = module.params
    if not NAME.match(params['name']):
        invalid(module, 'name', '%r: 1-127 letters, digits and hyphens' % params['name'], 'Choose a name that does')
    if not params['vault_uri'].startswith('https://'):
        invalid(module, 'vault_uri', 'Key Vault is reached over HTTPS only', 'Use the https:// vault URI')
    if params['state'] == 'present':
        if params['value'] is None:
            invalid(module, 'value', 'it is required with state=present', 'Set value')
        if len(params['value'].encode('utf-8')) > MAX_VALUE:
            invalid(module, 'value', 'it is larger than 25 KiB', 'Store large data in Blob storage instead')
    return parse_expiry(module, params['expires'])


def metadata_changes(current, params, expires):
    """{field: (before, after)} for the attributes the task sets that differ from the current version."""
    props = current.properties
    found = {}
    for field, have, want in (('contentType', props.content_type, params['content_type']),
                              ('enabled', props.enabled, params['enabled']),
                              ('expires', props.expires_on, expires),
                              ('tags', props.tags or {}, params['tags'])):
        if want is not None and have != want:
            found[field] = (have.isoformat() if isinstance(have, datetime.datetime) else have,
                            want.isoformat() if isinstance(want, datetime.datetime) else want)
    return found


def converge(module, client, expires):
    params = module.params
    name = params['name']
    try:
        current = client.get_secret(name)
    except ResourceNotFoundError:
        current = None
    if params['state'] == 'absent':
        if current is None:
            return {'changed': False, 'diff': {'before': {}, 'after': {}}, 'id': '', 'version': ''}
        if not module.check_mode:
            client.begin_delete_secret(name).result()
        return {'changed': True, 'diff': {'before': {'name': name, 'version': current.properties.version},
                                          'after': {}}, 'id': '', 'version': ''}
    new_value = current is None or current.value != params['value']
    changes = {} if current is None else metadata_changes(current, params, expires)
    if not new_value and not changes:
        return {'changed': False, 'diff': {'before': {}, 'after': {}}, 'id': current.id,
                'version': current.properties.version}
    before = dict((k, v[0]) for k, v in changes.items())
    after = dict((k, v[1]) for k, v in changes.items())
    if new_value:
        before['value'] = HIDDEN if current is not None else None
        after['value'] = HIDDEN + ' new version'
        if current is None:
            before = {}
            after.update((k, v) for k, v in (('contentType', params['content_type']), ('enabled', params['enabled']),
                                             ('expires', params['expires']), ('tags', params['tags'])) if v is not None)
    result = {'changed': True, 'diff': {'before': before, 'after': after},
              'id': current.id if current else '', 'version': current.properties.version if current else ''}
    if module.check_mode:
        return result
    if new_value:
        if current is None and params['recover']:
            recover_if_deleted(client, name)
        written = client.set_secret(name, params['value'], content_type=params['content_type'],
                                    enabled=params['enabled'], expires_on=expires, tags=params['tags'])
    else:
        written = client.update_secret_properties(
            name, current.properties.version, content_type=params['content_type'], enabled=params['enabled'],
            expires_on=expires, tags=params['tags'])
    properties = getattr(written, 'properties', written)
    result.update(id=properties.id, version=properties.version)
    return result


def recover_if_deleted(client, name):
    try:
        client.get_deleted_secret(name)
    except ResourceNotFoundError:
        return
    client.begin_recover_deleted_secret(name).result()


def main():
    spec = dict(AZURE_AUTH_ARGUMENT_SPEC)
    spec.update(
        vault_uri=dict(type='str', required=True),
        name=dict(type='str', required=True),
        value=dict(type='str', no_log=True),
        content_type=dict(type='str'),
        enabled=dict(type='bool'),
        expires=dict(type='str'),
        tags=dict(type='dict'),
        recover=dict(type='bool', default=False),
        verify_challenge_resource=dict(type='bool', default=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not HAS_SDK:
        module.fail_json(msg=missing_required_lib('azure-keyvault-secrets'))
    expires = check_input(module)
    params = module.params
    settings = clients_for(module).settings
    kwargs = {'verify_challenge_resource': params['verify_challenge_resource']}
    if settings.ca_bundle:
        kwargs['connection_verify'] = settings.ca_bundle
    client = SecretClient(params['vault_uri'], AzureClients(settings).credential, **kwargs)
    asked = "%s secret '%s' in %s" % ('delete' if params['state'] == 'absent' else 'set', params['name'],
                                      params['vault_uri'])
    try:
        result = converge(module, client, expires)
    except AzureOperationError as exc:
        fail(module, exc)
    except Exception as exc:
        error = from_exception(exc, asked)
        if 'deleted but recoverable' in str(exc):
            error = AzureOperationError(asked, code=error.code, message=error.arm_message, status=error.status,
                                        hint='recover it (recover=true) or purge it before setting it again')
        fail(module, error)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
