#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_postgresql_flexible_database
short_description: Create or delete a database on an Azure PostgreSQL flexible server
version_added: 0.1.0
description:
  - Charset and collation are fixed at creation; asking to change them fails with a clear message.
options:
  name:
    description: Database name.
    type: str
    required: true
  charset:
    description: Character set, for example V(UTF8).
    type: str
  collation:
    description: Collation, for example V(en_US.utf8).
    type: str
  state:
    description: Whether the database exists. V(absent) drops it with all its data.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
  - medimaging.orthanc.azure_postgresql_flexible_parent
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Database for the Orthanc index
  medimaging.orthanc.azure_postgresql_flexible_database:
    resource_group: rg-imaging-prod
    server: pacs-index
    name: orthanc
    charset: UTF8
    collation: en_US.utf8
'''

RETURN = r'''
resource:
  description: The database as ARM returns it (empty after deletion).
  returned: always
  type: dict
  sample:
    name: orthanc
    properties:
      charset: UTF8
      collation: en_US.utf8
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import postgresql_server_parent


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            server=dict(type='str', required=True),
            name=dict(type='str', required=True),
            charset=dict(type='str'),
            collation=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['postgresql_flexible'],
    )
    check_name(module, 'server', 'postgresql_server')
    check_name(module, 'name', 'postgresql_database')
    params = module.params
    clients = clients_for(module)
    databases = clients.get('postgresql_flexible').databases
    group, server, name = params['resource_group'], params['server'], params['name']
    create_call = getattr(databases, 'begin_create', None) or databases.begin_create_or_update

    resource = ArmResource(
        'PostgreSQL database', '%s/%s' % (server, name),
        read=lambda: databases.get(group, server, name, cls=raw_json),
        create=lambda body: create_call(group, server, name, body, cls=raw_json),
        delete=lambda: databases.begin_delete(group, server, name),
        immutable=['properties.charset', 'properties.collation'],
        case_insensitive=['properties.charset', 'properties.collation'],
        parent=postgresql_server_parent(clients, group, server),
    )
    desired = {'properties': {'charset': params['charset'], 'collation': params['collation']}}
    module.exit_json(**converge(module, resource, desired))


if __name__ == '__main__':
    main()
