#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_healthcare_workspace
short_description: Create, update or delete an Azure Health Data Services workspace
version_added: 0.1.0
description:
  - A workspace (Microsoft.HealthcareApis/workspaces) holds DICOM, FHIR and MedTech services.
  - Compares only the options that are set; deleting a workspace requires its services to be deleted first.
options:
  resource_group:
    description: Resource group of the workspace. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Workspace name, 3-24 lower-case letters, digits and hyphens.
    type: str
    required: true
  public_network_access:
    description: Whether the workspace's services accept traffic from public networks.
    type: str
    choices: [Enabled, Disabled]
  state:
    description: Whether the workspace exists.
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
- name: Health Data Services workspace
  medimaging.orthanc.azure_healthcare_workspace:
    resource_group: rg-imaging-prod
    name: imagingws
    location: westeurope
'''

RETURN = r'''
resource:
  description: The workspace as ARM returns it (empty after deletion).
  returned: always
  type: dict
  sample:
    id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.HealthcareApis/workspaces/imagingws
    name: imagingws
    location: westeurope
    properties:
      provisioningState: Succeeded
      publicNetworkAccess: Enabled
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
            public_network_access=dict(type='str', choices=['Enabled', 'Disabled']),
            tags=dict(type='dict'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['healthcareapis'],
        required_if=[('state', 'present', ('location',))],
    )
    check_name(module, 'name', 'healthcare')
    params = module.params
    clients = clients_for(module)
    client = clients.get('healthcareapis')
    group, name = params['resource_group'], params['name']

    resource = ArmResource(
        'Health Data Services workspace', name,
        read=lambda: client.workspaces.get(group, name, cls=raw_json),
        create=lambda body: client.workspaces.begin_create_or_update(group, name, body, cls=raw_json),
        delete=lambda: client.workspaces.begin_delete(group, name),
        read_only=['properties.privateEndpointConnections'],
        immutable=['location'],
        exact=['tags'],
        parent=group_parent(clients, group),
    )
    desired = {
        'location': params['location'],
        'tags': params['tags'],
        'properties': {'publicNetworkAccess': params['public_network_access']},
    }
    module.exit_json(**converge(module, resource, desired))


if __name__ == '__main__':
    main()
