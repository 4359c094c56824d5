#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_postgresql_flexible_configuration
short_description: Set a server parameter of an Azure PostgreSQL flexible server
version_added: 0.1.0
description:
  - Server parameters always exist; O(state=present) sets the value, O(state=absent) puts the default value back.
  - Use it for C(azure.extensions) (the allow-list of extensions a database may create, for example C(PG_TRGM) for
    Orthanc's index) and C(require_secure_transport).
  - Values are compared without regard to case or to the order of comma-separated items, as the server reports them.
options:
  name:
    description: Parameter name, for example V(azure.extensions).
    type: str
    required: true
  value:
    description: Value to set. Lists are comma-separated, for example V(PG_TRGM,PGCRYPTO).
    type: str
  state:
    description: V(present) sets O(value); V(absent) resets the parameter to its default.
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
- name: Allow the extension Orthanc's PostgreSQL index creates
  medimaging.orthanc.azure_postgresql_flexible_configuration:
    resource_group: rg-imaging-prod
    server: pacs-index
    name: azure.extensions
    value: PG_TRGM
'''

RETURN = r'''
resource:
  description: The parameter as ARM returns it.
  returned: always
  type: dict
  sample:
    name: azure.extensions
    properties:
      value: PG_TRGM
      source: user-override
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, engine_for, fail)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import postgresql_server_parent


def normalize(value):
    """Server parameters come back re-cased and re-ordered (PG_TRGM,pgcrypto): compare a canonical form."""
    if value is None:
        return None
    return ','.join(sorted(part.strip().lower() for part in value.split(',') if part.strip()))


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            server=dict(type='str', required=True),
            name=dict(type='str', required=True),
            value=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['postgresql_flexible'],
        required_if=[('state', 'present', ('value',))],
    )
    check_name(module, 'server', 'postgresql_server')
    check_name(module, 'name', 'postgresql_parameter')
    params = module.params
    clients = clients_for(module)
    configurations = clients.get('postgresql_flexible').configurations
    group, server, name = params['resource_group'], params['server'], params['name']
    put_call = getattr(configurations, 'begin_put', None) or configurations.begin_update

    resource = ArmResource(
        'PostgreSQL server parameter', '%s/%s' % (server, name),
        read=lambda: configurations.get(group, server, name, cls=raw_json),
        create=lambda body: put_call(group, server, name, body, cls=raw_json),
        read_only=['properties.description', 'properties.defaultValue', 'properties.dataType',
                   'properties.allowedValues', 'properties.isDynamicConfig', 'properties.isReadOnly'],
        parent=postgresql_server_parent(clients, group, server),
    )
    engine = engine_for(module)
    try:
        # Azure lists every parameter with its default; a 404 means "unknown here": PUT it and let ARM judge.
        current = engine.current(resource) or {}
        if not current and params['state'] == 'absent':
            module.exit_json(changed=False, diff={'before': {}, 'after': {}}, resource={})
        if not current:
            engine.require_parent(resource, 'set %s' % resource.label())
        props = current.get('properties') or {}
        if params['state'] == 'absent':
            wanted, source = props.get('defaultValue'), 'system-default'
        else:
            wanted, source = params['value'], 'user-override'
        result = {'changed': False, 'diff': {'before': {}, 'after': {}}, 'resource': current}
        # Compare canonical forms, but send what the user wrote.
        if normalize(props.get('value')) != normalize(wanted):
            result['changed'] = True
            result['diff'] = {'before': {'properties': {'value': props.get('value')}},
                              'after': {'properties': {'value': wanted}}}
            result['resource'] = dict(current, properties=dict(props, value=wanted, source=source))
            if not module.check_mode:
                body = {'properties': {'value': wanted, 'source': source}}
                written = engine.write(resource.create, body, 'set %s' % resource.label())
                result['resource'] = written or result['resource']
    except AzureOperationError as exc:
        fail(module, exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
