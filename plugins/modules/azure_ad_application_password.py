#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_ad_application_password
short_description: Add or remove a client secret of an Entra ID application, keeping its value in a private file
version_added: 0.1.0
description:
  - Adds a password credential (client secret) to an application over Microsoft Graph v1.0 (C(addPassword)) and
    writes its value, which Graph returns only once, to O(secret_file) with mode 0600. The value is never
    returned, logged or shown in a diff; read it from the file (for example into Key Vault with
    M(medimaging.orthanc.azure_key_vault_secret)) and delete the file when it is no longer needed.
  - The credential is identified by its O(display_name). It is left alone while it exists, is not expired and
    O(secret_file) holds its value; an expired one is replaced (the new one is added first, the expired one
    removed after).
  - V(absent) removes the credentials of that name (C(removePassword) by key id) and O(secret_file).
  - Rotation in two steps, so that the old secret keeps working until its successor is proven; O(rotate=true) adds
    a new credential of that name and writes its value to O(secret_file), leaving the others in place; once the new
    one works, V(absent) with O(keep_key_id) removes the others of that name and keeps O(secret_file).
options:
  app_id:
    description: Application (client) id of the application.
    type: str
    required: true
  display_name:
    description: Name of the credential; identifies it.
    type: str
    required: true
  valid_days:
    description: Lifetime of a new secret in days (Microsoft recommends less than 12 months).
    type: int
    default: 180
  secret_file:
    description: File receiving the secret's value (mode 0600), on the host that runs the module. Required with
      O(state=present). Its folder must exist.
    type: path
  rotate:
    description: With V(present), add a new credential of that name even when a live one exists (its value replaces
      O(secret_file)); the existing ones stay until removed with V(absent) and O(keep_key_id). Always changes.
    type: bool
    default: false
  keep_key_id:
    description: With V(absent), the key id of the credential of that name to keep (the rotated one); the others
      are removed and O(secret_file) is kept.
    type: str
  state:
    description: Whether the credential exists.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth.credential
  - medimaging.orthanc.azure_graph
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Client secret of the Orthanc plugin, into a private file
  medimaging.orthanc.azure_ad_application_password:
    app_id: "{{ orthanc_app.app_id }}"
    display_name: orthanc-plugin
    valid_days: 180
    secret_file: "{{ private_dir }}/orthanc-client-secret"
  register: orthanc_secret

- name: Rotate it - a new secret first (the old one keeps working) ...
  medimaging.orthanc.azure_ad_application_password:
    app_id: "{{ orthanc_app.app_id }}"
    display_name: orthanc-plugin
    secret_file: "{{ private_dir }}/orthanc-client-secret"
    rotate: true
  register: rotated

- name: ... and, once the app works with it, the old ones removed
  medimaging.orthanc.azure_ad_application_password:
    app_id: "{{ orthanc_app.app_id }}"
    display_name: orthanc-plugin
    keep_key_id: "{{ rotated.key_id }}"
    state: absent
'''

RETURN = r'''
key_id:
  description: Key id of the credential (what removePassword takes); empty in check mode before creation.
  returned: always
  type: str
end_date_time:
  description: When the secret expires (ISO 8601).
  returned: always
  type: str
secret_file:
  description: The file holding the value.
  returned: always
  type: str
previous_key_ids:
  description: Key ids of the other live credentials of that name (with O(rotate), the ones to remove later).
  returned: always
  type: list
  elements: str
'''

import datetime
import os
import re
import tempfile

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.graph_client import (
    graph_for, graph_module, run_or_fail)

GUID = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z')


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _expired(credential, now):
    end = credential.get('endDateTime') or ''
    try:
        moment = datetime.datetime.strptime(end[:19], '%Y-%m-%dT%H:%M:%S').replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return False
    return moment <= now


def write_private(path, text):
    """Write text to path with mode 0600 from the first byte (never a moment world-readable), atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=folder, prefix='.%s-' % os.path.basename(path))  # mkstemp: 0600
    try:
        with os.fdopen(handle, 'w') as out:
            out.write(text)
        os.replace(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _has_value(path):
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def converge(module, graph):
    params = module.params
    name, path = params['display_name'], params['secret_file']
    app = graph.find_one('applications', 'appId', params['app_id'], 'application with client id')
    if app is None:
        raise AzureOperationError('find application %s' % params['app_id'], code='Request_ResourceNotFound',
                                  message='no application has this client id',
                                  hint='create it first (azure_ad_application) and pass its app_id')
    label = "client secret '%s' of application %s" % (name, params['app_id'])
    now = _now()
    mine = [c for c in app.get('passwordCredentials') or [] if c.get('displayName') == name]
    live = [c for c in mine if not _expired(c, now)]
    result = dict(changed=False, key_id='', end_date_time='', secret_file=path or '', diff=dict(before={}, after={}),
                  previous_key_ids=[c['keyId'] for c in live])
    keep = params['keep_key_id']
    if params['state'] == 'absent' and keep:
        if keep not in [c['keyId'] for c in mine]:
            raise AzureOperationError('keep %s %s' % (label, keep), code='KeyIdNotFound',
                                      message='no credential of that name has this key id',
                                      hint='pass the key_id the rotation (rotate=true) returned')
        others = [c for c in mine if c['keyId'] != keep]
        result.update(changed=bool(others), key_id=keep, previous_key_ids=[c['keyId'] for c in others],
                      diff=dict(before={'keyIds': [c['keyId'] for c in mine]}, after={'keyIds': [keep]}))
        if not module.check_mode:
            remove(graph, app, others, label)
        return result
    if params['state'] == 'absent':
        result['changed'] = bool(mine) or bool(path and os.path.exists(path))
        result['diff'] = dict(before={'keyIds': [c['keyId'] for c in mine]} if mine else {}, after={})
        if not module.check_mode:
            remove(graph, app, mine, label)
            if path and os.path.exists(path):
                os.remove(path)
        return result
    if live and _has_value(path) and not params['rotate']:
        os.chmod(path, 0o600)
        return dict(result, key_id=live[-1]['keyId'], end_date_time=live[-1].get('endDateTime') or '')
    if live and not params['rotate']:
        raise AzureOperationError(
            'keep %s' % label, code='SecretValueLost',
            message='the credential exists but %s does not hold its value, and Graph returns a value only once'
                    % path,
            hint='remove the credential (state=absent) and run again for a new one, or choose another display_name')
    end = (now + datetime.timedelta(days=params['valid_days'])).strftime('%Y-%m-%dT%H:%M:%SZ')
    result.update(changed=True, end_date_time=end,
                  diff=dict(before={'keyIds': [c['keyId'] for c in mine]} if mine else {},
                            after={'displayName': name, 'endDateTime': end, 'secret_file': path}))
    if module.check_mode:
        return result
    added = graph.call('POST', '/applications/%s/addPassword' % app['id'], 'add %s' % label,
                       body={'passwordCredential': {'displayName': name, 'endDateTime': end}}, new_object=True)
    write_private(path, added['secretText'])
    remove(graph, app, [c for c in mine if c not in live], label)  # expired ones, once the new one is in place
    result.update(key_id=added['keyId'], end_date_time=added.get('endDateTime') or end)
    return result


def remove(graph, app, credentials, label):
    for credential in credentials:
        graph.call('POST', '/applications/%s/removePassword' % app['id'], 'remove %s' % label,
                   body={'keyId': credential['keyId']})


def main():
    module = graph_module(dict(
        app_id=dict(type='str', required=True),
        display_name=dict(type='str', required=True),
        valid_days=dict(type='int', default=180),
        secret_file=dict(type='path'),
        rotate=dict(type='bool', default=False),
        keep_key_id=dict(type='str', no_log=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    ), required_if=[('state', 'present', ('secret_file',))])
    params = module.params
    if not GUID.match(params['app_id']):
        module.fail_json(msg='Invalid app_id: %r is not a client id. Use the GUID azure_ad_application returns as '
                             'app_id.' % params['app_id'])
    if not 1 <= params['valid_days'] <= 730:
        module.fail_json(msg='Invalid valid_days: %d is outside 1-730. Choose a lifetime in days (less than 365 is '
                             'recommended).' % params['valid_days'])
    if params['state'] == 'present' and not os.path.isdir(os.path.dirname(os.path.abspath(params['secret_file']))):
        module.fail_json(msg='Invalid secret_file: the folder of %s does not exist. Create it first (mode 0700).'
                             % params['secret_file'])
    if params['keep_key_id'] and not GUID.match(params['keep_key_id']):
        module.fail_json(msg='Invalid keep_key_id: %r is not a key id. Use the key_id the rotation returned.'
                             % params['keep_key_id'])
    graph = graph_for(module)
    run_or_fail(module, lambda: converge(module, graph))


if __name__ == '__main__':
    main()
