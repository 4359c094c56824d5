#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_ad_service_principal
short_description: Create or delete the service principal of an Entra ID application
version_added: 0.1.0
description:
  - The service principal is the application's identity in the tenant; role assignments (such as DICOM Data Owner
    on a DICOM service) name its object id. Converged over Microsoft Graph v1.0 (C(/servicePrincipals)), found by
    the application's client id.
options:
  app_id:
    description: Application (client) id, as M(medimaging.orthanc.azure_ad_application) returns it.
    type: str
    required: true
  state:
    description: Whether the service principal exists. V(absent) deletes it (its role assignments stop working).
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
- name: Service principal of the Orthanc app registration
  medimaging.orthanc.azure_ad_service_principal:
    app_id: "{{ orthanc_app.app_id }}"
  register: orthanc_sp

- name: Let it use the DICOM service
  medimaging.orthanc.azure_role_assignment:
    scope: "{{ dicom.id }}"
    principal_id: "{{ orthanc_sp.object_id }}"
    principal_type: ServicePrincipal
    role: DICOM Data Owner
'''

RETURN = r'''
object_id:
  description: Object id of the service principal (the principal of role assignments); empty in check mode before
    creation and after deletion.
  returned: always
  type: str
app_id:
  description: The application (client) id.
  returned: always
  type: str
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.graph_client import (
    graph_for, graph_module, run_or_fail)

GUID = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z')


def converge(module, graph):
    app_id = module.params['app_id']
    label = 'service principal of application %s' % app_id
    found = graph.find_one('servicePrincipals', 'appId', app_id, 'service principal of application')
    if module.params['state'] == 'absent':
        if found and not module.check_mode:
            graph.call('DELETE', '/servicePrincipals/%s' % found['id'], 'delete %s' % label)
        return dict(changed=found is not None, object_id='', app_id=app_id,
                    diff=dict(before={'appId': app_id} if found else {}, after={}))
    if found:
        return dict(changed=False, object_id=found['id'], app_id=app_id, diff=dict(before={}, after={}))
    result = dict(changed=True, object_id='', app_id=app_id, diff=dict(before={}, after={'appId': app_id}))
    if not module.check_mode:
        result['object_id'] = graph.call('POST', '/servicePrincipals', 'create %s' % label, body={'appId': app_id},
                                         new_object=True)['id']
    return result


def main():
    module = graph_module(dict(
        app_id=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    ))
    if not GUID.match(module.params['app_id']):
        module.fail_json(msg='Invalid app_id: %r is not a client id. Use the GUID azure_ad_application returns as '
                             'app_id.' % module.params['app_id'])
    graph = graph_for(module)
    run_or_fail(module, lambda: converge(module, graph))


if __name__ == '__main__':
    main()
