#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: orthanc_info
short_description: Read what a running Orthanc is (version, plugins, database), optionally waiting for it
version_added: 0.1.0
description:
  - Reads Orthanc's REST API (C(/system), C(/plugins), C(/statistics)) and returns the version, the loaded plugins
    and the database back end. C(/statistics) reads the index, so an answer proves the database is reachable.
  - With O(wait), retries until Orthanc answers with the given credentials, for use right after a (re)start.
  - Fails when a plugin named in O(required_plugins) is not loaded, naming what is loaded instead.
  - Uses only Ansible's own HTTP client, so the managed host needs no extra Python package.
author:
  - medimaging.orthanc contributors (@medimaging)
options:
  orthanc_url:
    description: Base URL of Orthanc's REST API, for example V(http://127.0.0.1:8042).
    type: str
    required: true
  orthanc_username:
    description: User for HTTP basic authentication; goes with O(orthanc_password).
    type: str
  orthanc_password:
    description: Password of O(orthanc_username). Never logged.
    type: str
  ca_bundle:
    description: CA certificate(s) to verify Orthanc's HTTPS certificate; verification is never turned off.
    type: path
  timeout:
    description: Seconds for each request.
    type: int
    default: 10
  wait:
    description: Seconds to keep retrying until Orthanc answers (0 asks once).
    type: int
    default: 0
  required_plugins:
    description: Plugin ids (as C(/plugins) lists them, for example V(dicom-web), V(python), V(postgresql-index)) that must be loaded.
    type: list
    elements: str
    default: []
notes:
  - Read-only; runs in check mode too.
"""

EXAMPLES = r"""
- name: Wait for Orthanc after a restart and check its plugins
  medimaging.orthanc.orthanc_info:
    orthanc_url: http://127.0.0.1:8042
    orthanc_username: admin
    orthanc_password: "{{ vault_orthanc_admin_password }}"
    wait: 60
    required_plugins: [dicom-web, python, postgresql-index]
  register: orthanc

- name: Show the version
  ansible.builtin.debug:
    msg: "Orthanc {{ orthanc.version }} on {{ orthanc.database.backend_plugin or 'SQLite' }}"
"""

RETURN = r"""
version:
  description: Orthanc's version.
  returned: success
  type: str
  sample: 1.12.7
api_version:
  description: Version of Orthanc's REST API.
  returned: success
  type: int
  sample: 27
name:
  description: The Orthanc's configured Name.
  returned: success
  type: str
  sample: Hospital PACS
dicom_aet:
  description: The Orthanc's DICOM application entity title.
  returned: success
  type: str
  sample: HOSPITALPACS
plugins:
  description: Ids of the loaded plugins.
  returned: success
  type: list
  elements: str
  sample: [dicom-web, postgresql-index, postgresql-storage, python]
database:
  description: The index back end (the path of its plugin, null for the built-in SQLite), and the counts read from it.
  returned: success
  type: dict
  sample: {backend_plugin: /usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so, version: 6, patients: 4, studies: 12, instances: 96}
waited:
  description: Seconds spent waiting for the first answer.
  returned: success
  type: float
  sample: 2.1
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

_HINTS = {401: 'check orthanc_username and orthanc_password', 403: 'the Orthanc user lacks the right for this call'}


class NotAnswering(Exception):
    """Orthanc could not be asked, or answered with an error; retryable while waiting, except wrong credentials."""

    def __init__(self, message, final=False):
        super(NotAnswering, self).__init__(message)
        self.final = final


def get_json(params, path):
    url = params['orthanc_url'].rstrip('/') + path
    try:
        response = open_url(url, method='GET', url_username=params['orthanc_username'],
                            url_password=params['orthanc_password'], force_basic_auth=bool(params['orthanc_username']),
                            ca_path=params['ca_bundle'], validate_certs=True, timeout=params['timeout'],
                            headers={'Accept': 'application/json'})
        return json.loads(response.read())
    except HTTPError as exc:
        hint = _HINTS.get(exc.code, '')
        raise NotAnswering('Orthanc GET %s answered %s%s' % (path, exc.code, ' (%s)' % hint if hint else ''),
                           final=exc.code in _HINTS)
    except (URLError, OSError, ValueError) as exc:
        raise NotAnswering('Orthanc GET %s: %s (check orthanc_url and that Orthanc runs)' % (path, exc))


def describe(params):
    system = get_json(params, '/system')
    plugins = sorted(get_json(params, '/plugins'))
    statistics = get_json(params, '/statistics')
    return dict(
        version=system.get('Version', ''), api_version=system.get('ApiVersion'), name=system.get('Name', ''),
        dicom_aet=system.get('DicomAet', ''), plugins=plugins,
        database=dict(backend_plugin=system.get('DatabaseBackendPlugin') or None,
                      version=system.get('DatabaseVersion'),
                      patients=statistics.get('CountPatients'), studies=statistics.get('CountStudies'),
                      instances=statistics.get('CountInstances')))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            orthanc_url=dict(type='str', required=True),
            orthanc_username=dict(type='str'),
            orthanc_password=dict(type='str', no_log=True),
            ca_bundle=dict(type='path'),
            timeout=dict(type='int', default=10),
            wait=dict(type='int', default=0),
            required_plugins=dict(type='list', elements='str', default=[]),
        ),
        required_together=[('orthanc_username', 'orthanc_password')],
        supports_check_mode=True,
    )
    params = module.params
    if not params['orthanc_url'].lower().startswith(('http://', 'https://')):
        module.fail_json(msg='orthanc_url must be an http:// or https:// URL, got %r' % params['orthanc_url'])
    if params['wait'] < 0 or params['timeout'] < 1:
        module.fail_json(msg='wait must be 0 or more and timeout 1 or more seconds (got wait=%s, timeout=%s)'
                         % (params['wait'], params['timeout']))
    start = time.time()
    while True:
        try:
            info = describe(params)
            break
        except NotAnswering as exc:
            if exc.final or time.time() - start >= params['wait']:
                module.fail_json(msg='%s; waited %.0f s' % (exc, time.time() - start))
            time.sleep(1)
    missing = sorted(set(params['required_plugins']) - set(info['plugins']))
    if missing:
        module.fail_json(msg='Orthanc %s does not load the plugin(s) %s; it loads %s. Install them and list them '
                             'in its Plugins setting.' % (info['version'], ', '.join(missing),
                                                          ', '.join(info['plugins']) or 'none'), **info)
    module.exit_json(changed=False, waited=round(time.time() - start, 1), **info)


if __name__ == '__main__':
    main()
