#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_user_assigned_identity
short_description: Create, update or delete an Azure user-assigned managed identity
version_added: 0.1.0
description:
  - A user-assigned identity (Microsoft.ManagedIdentity/userAssignedIdentities) is an Entra ID service principal
    whose lifetime you manage. Give it roles (M(medimaging.orthanc.azure_role_assignment)), attach it to a container
    app or a DICOM service, or trust a Kubernetes service account with
    M(medimaging.orthanc.azure_federated_identity_credential) (workload identity).
  - Returns the client id a workload asks tokens with and the principal id that role assignments name; Azure sets
    both at creation and they never change.
options:
  resource_group:
    description: Resource group of the identity. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Identity name, 3-128 letters, digits, hyphens and underscores, starting with a letter or digit.
    type: str
    required: true
  state:
    description: Whether the identity exists. V(absent) deletes it; its role assignments stop working.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
  - medimaging.orthanc.azure_resource_common
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Identity of the Orthanc pods
  medimaging.orthanc.azure_user_assigned_identity:
    resource_group: rg-imaging-prod
    name: id-orthanc
    location: westeurope
    tags:
      workload: pacs
  register: orthanc_identity

- name: Let it write to the DICOM service
  medimaging.orthanc.azure_role_assignment:
    scope: "{{ dicom.resource.id }}"
    principal_id: "{{ orthanc_identity.principal_id }}"
    principal_type: ServicePrincipal
    role: DICOM Data Owner
'''

RETURN = r'''
resource:
  description: The identity as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the identity (what user_assigned_identities options take); empty after deletion.
  returned: always
  type: str
client_id:
  description: Application (client) id, the AZURE_CLIENT_ID of a workload using the identity. Empty in check mode
    before creation and after deletion.
  returned: always
  type: str
  sample: 2b8c8e50-6b0e-4b52-9c1b-0a0e3c9f7d11
principal_id:
  description: Object id of the service principal, the principal of role assignments. Empty in check mode before
    creation and after deletion.
  returned: always
  type: str
tenant_id:
  description: Tenant of the identity.
  returned: always
  type: str
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['msi'],
        required_if=[('state', 'present', ('location',))],
    )
    check_name(module, 'name', 'user_assigned_identity')
    params = module.params
    clients = clients_for(module)
    identities = clients.get('msi').user_assigned_identities
    group, name = params['resource_group'], params['name']

    resource = ArmResource(
        'user-assigned identity', name,
        read=lambda: identities.get(group, name, cls=raw_json),
        create=lambda body: identities.create_or_update(group, name, body, cls=raw_json),
        delete=lambda: identities.delete(group, name),
        read_only=['properties.clientId', 'properties.principalId', 'properties.tenantId'],
        immutable=['location'],
        exact=['tags'],
        parent=group_parent(clients, group),
    )
    result = converge(module, resource, {'location': params['location'], 'tags': params['tags']})
    found = result['resource'] or {}
    props = found.get('properties') or {}
    result['id'] = found.get('id') or ''
    result['client_id'] = props.get('clientId') or ''
    result['principal_id'] = props.get('principalId') or ''
    result['tenant_id'] = props.get('tenantId') or ''
    module.exit_json(**result)


if __name__ == '__main__':
    main()
