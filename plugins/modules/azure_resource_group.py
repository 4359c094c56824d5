#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_resource_group
short_description: Create, update or delete an Azure resource group
version_added: 0.1.0
description:
  - Makes a resource group match the given location and tags; compares only what is set.
  - With O(state=absent) deletes the group B(and everything in it), so O(force_delete_nonempty) must confirm it
    when the group is not empty.
options:
  name:
    description: Name of the resource group.
    type: str
    required: true
  force_delete_nonempty:
    description: Allow O(state=absent) to delete a group that still holds resources.
    type: bool
    default: false
  state:
    description: Whether the group exists.
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
- name: Resource group for the imaging platform
  medimaging.orthanc.azure_resource_group:
    name: rg-imaging-prod
    location: westeurope
    tags:
      workload: pacs
'''

RETURN = r'''
resource:
  description: The resource group as ARM returns it (empty after deletion).
  returned: always
  type: dict
  sample:
    id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-imaging-prod
    name: rg-imaging-prod
    location: westeurope
    properties:
      provisioningState: Succeeded
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge, invalid)


def main():
    module = azure_module(
        dict(
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            force_delete_nonempty=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['resource'],
        required_if=[('state', 'present', ('location',))],
    )
    check_name(module, 'name', 'resource_group')
    params = module.params
    client = clients_for(module).get('resource')
    name = params['name']

    def delete():
        if not params['force_delete_nonempty']:
            contained = client.resources.list_by_resource_group(name, top=1)
            if next(iter(contained), None) is not None:
                invalid(module, 'state', "resource group '%s' still holds resources" % name,
                        'Delete them first, or set force_delete_nonempty=true to delete the group with its content')
        return client.resource_groups.begin_delete(name)

    resource = ArmResource(
        'resource group', name,
        read=lambda: client.resource_groups.get(name, cls=raw_json),
        create=lambda body: client.resource_groups.create_or_update(name, body, cls=raw_json),
        delete=delete,
        immutable=['location'],
        exact=['tags'],
    )
    desired = {'location': params['location'], 'tags': params['tags']}
    result = converge(module, resource, desired)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
