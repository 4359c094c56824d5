#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_postgresql_flexible_firewall_rule
short_description: Open an IPv4 range on an Azure PostgreSQL flexible server in public access mode
version_added: 0.1.0
description:
  - One rule per range. The range 0.0.0.0-0.0.0.0 means "any Azure service" and is refused unless
    O(allow_azure_services=true) because it also admits other tenants' services.
options:
  name:
    description: Rule name (letters, digits, hyphens and underscores).
    type: str
    required: true
  start_ip_address:
    description: First IPv4 address of the range.
    type: str
  end_ip_address:
    description: Last IPv4 address of the range (defaults to O(start_ip_address)).
    type: str
  allow_azure_services:
    description: Confirm the 0.0.0.0 rule that lets any Azure service connect.
    type: bool
    default: false
  state:
    description: Whether the rule exists.
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
- name: Let the hospital's egress range reach the index
  medimaging.orthanc.azure_postgresql_flexible_firewall_rule:
    resource_group: rg-imaging-prod
    server: pacs-index
    name: hospital-egress
    start_ip_address: 203.0.113.0
    end_ip_address: 203.0.113.31
'''

RETURN = r'''
resource:
  description: The firewall rule as ARM returns it (empty after deletion).
  returned: always
  type: dict
  sample:
    name: hospital-egress
    properties:
      startIpAddress: 203.0.113.0
      endIpAddress: 203.0.113.31
'''

import ipaddress

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import postgresql_server_parent


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            server=dict(type='str', required=True),
            name=dict(type='str', required=True),
            start_ip_address=dict(type='str'),
            end_ip_address=dict(type='str'),
            allow_azure_services=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['postgresql_flexible'],
        required_if=[('state', 'present', ('start_ip_address',))],
    )
    check_name(module, 'server', 'postgresql_server')
    check_name(module, 'name', 'postgresql_firewall_rule')
    params = module.params
    start, end = params['start_ip_address'], params['end_ip_address'] or params['start_ip_address']
    if params['state'] == 'present':
        try:
            first, last = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
        except ValueError as exc:
            invalid(module, 'start_ip_address/end_ip_address', str(exc), 'Use dotted IPv4 addresses')
        if first > last:
            invalid(module, 'end_ip_address', '%s comes before %s' % (end, start), 'Give the range low to high')
        if int(first) == 0 and not params['allow_azure_services']:
            invalid(module, 'start_ip_address', '0.0.0.0 admits every Azure service, including other tenants\'',
                    'Use your own address range, or set allow_azure_services=true to confirm')
    clients = clients_for(module)
    rules = clients.get('postgresql_flexible').firewall_rules
    group, server, name = params['resource_group'], params['server'], params['name']

    resource = ArmResource(
        'PostgreSQL firewall rule', '%s/%s' % (server, name),
        read=lambda: rules.get(group, server, name, cls=raw_json),
        create=lambda body: rules.begin_create_or_update(group, server, name, body, cls=raw_json),
        delete=lambda: rules.begin_delete(group, server, name),
        parent=postgresql_server_parent(clients, group, server),
    )
    desired = {'properties': {'startIpAddress': start, 'endIpAddress': end}}
    module.exit_json(**converge(module, resource, desired))


if __name__ == '__main__':
    main()
