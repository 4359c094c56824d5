#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_ad_application
short_description: Create, update or delete an Entra ID application registration
version_added: 0.1.0
description:
  - Converges an application object of Microsoft Entra ID over Microsoft Graph v1.0 (C(/applications)), found by
    its display name, which must therefore be unique in the tenant.
  - Give it a service principal (M(medimaging.orthanc.azure_ad_service_principal)) to grant it roles, and a client
    secret (M(medimaging.orthanc.azure_ad_application_password)) for the client-credentials flow.
  - A no-op costs one Graph read.
options:
  display_name:
    description: Display name of the application; identifies it.
    type: str
    required: true
  sign_in_audience:
    description: Who may sign in. A daemon such as Orthanc's plugin needs only its own tenant.
    type: str
    default: AzureADMyOrg
    choices: [AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount, PersonalMicrosoftAccount]
  identifier_uris:
    description: Application id URIs (C(api://...)). Unset leaves them as they are.
    type: list
    elements: str
  state:
    description: Whether the application exists. V(absent) deletes it with its service principal and secrets.
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
- name: App registration of the Orthanc plugin (client credentials to the DICOM service)
  medimaging.orthanc.azure_ad_application:
    display_name: orthanc-dicom-client
  register: orthanc_app
'''

RETURN = r'''
app_id:
  description: Application (client) id; empty in check mode before creation and after deletion.
  returned: always
  type: str
object_id:
  description: Object id of the application (what addPassword is called on); empty as app_id.
  returned: always
  type: str
application:
  description: The application as Graph returns it (password credentials without their values).
  returned: always
  type: dict
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.graph_client import (
    graph_for, graph_module, run_or_fail)


def converge(module, graph):
    params = module.params
    name = params['display_name']
    label = "application '%s'" % name
    app = graph.find_one('applications', 'displayName', name, 'application')
    if params['state'] == 'absent':
        if app is None:
            return dict(changed=False, app_id='', object_id='', application={}, diff=dict(before={}, after={}))
        if not module.check_mode:
            graph.call('DELETE', '/applications/%s' % app['id'], 'delete %s' % label)
        return dict(changed=True, app_id='', object_id='', application={},
                    diff=dict(before={'displayName': name, 'appId': app.get('appId')}, after={}))
    desired = {'displayName': name, 'signInAudience': params['sign_in_audience']}
    if params['identifier_uris'] is not None:
        desired['identifierUris'] = params['identifier_uris']
    if app is None:
        result = dict(changed=True, diff=dict(before={}, after=desired), app_id='', object_id='', application={})
        if not module.check_mode:
            app = graph.call('POST', '/applications', 'create %s' % label, body=desired)
            result.update(app_id=app['appId'], object_id=app['id'], application=app)
        return result
    changes = dict((k, v) for k, v in desired.items() if k != 'displayName' and app.get(k) != v)
    result = dict(changed=bool(changes), app_id=app['appId'], object_id=app['id'], application=app,
                  diff=dict(before=dict((k, app.get(k)) for k in changes), after=changes))
    if changes and not module.check_mode:
        graph.call('PATCH', '/applications/%s' % app['id'], 'update %s' % label, body=changes)
        result['application'] = dict(app, **changes)
    return result


def main():
    module = graph_module(dict(
        display_name=dict(type='str', required=True),
        sign_in_audience=dict(type='str', default='AzureADMyOrg', choices=[
            'AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount']),
        identifier_uris=dict(type='list', elements='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    ))
    if not module.params['display_name'].strip():
        module.fail_json(msg='Invalid display_name: it is empty. Give the application a name.')
    graph = graph_for(module)
    run_or_fail(module, lambda: converge(module, graph))


if __name__ == '__main__':
    main()
