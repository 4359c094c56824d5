#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_private_endpoint
short_description: Create, update or delete an Azure private endpoint and its private DNS zone group
version_added: 0.1.0
description:
  - A private endpoint (Microsoft.Network/privateEndpoints) gives a service (a Key Vault, a storage account's Blob
    service, a Health Data Services workspace, a PostgreSQL server) an address inside a subnet, so its public
    network access can be disabled.
  - O(private_dns_zone_ids) keeps the endpoint's DNS zone group (privateEndpoints/privateDnsZoneGroups C(default)),
    through which Azure writes the endpoint's A records into the private DNS zones and keeps them current.
  - The target's sub-resource (O(group_id)) is checked before any call for the targets this collection deploys
    (V(vault), V(blob), V(healthcareworkspace), V(postgresqlServer), ...). A DICOM service is reached through its
    workspace's endpoint; pointing the endpoint at the DICOM service itself is refused.
  - The subnet and the target cannot change once the endpoint exists.
options:
  resource_group:
    description: Resource group of the endpoint. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Endpoint name, 1-80 letters, digits, underscores, periods and hyphens.
    type: str
    required: true
  subnet_id:
    description: Resource id of the subnet the endpoint's address comes from. Required to create.
    type: str
  target_resource_id:
    description: Resource id of the service the endpoint connects to. Required to create.
    type: str
  group_id:
    description: Sub-resource of the target, for example V(vault), V(blob) or V(healthcareworkspace). Required to create.
    type: str
  private_dns_zone_ids:
    description: Resource ids of the private DNS zones the endpoint's records go to. When set, the zone group holds
      exactly these zones; an empty list removes the zone group.
    type: list
    elements: str
  state:
    description: Whether the endpoint exists.
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
- name: Key Vault reachable only inside the PACS network
  medimaging.orthanc.azure_private_endpoint:
    resource_group: rg-imaging-prod
    name: pe-kv-imaging
    location: westeurope
    subnet_id: "{{ vnet.subnet_ids['private-endpoints'] }}"
    target_resource_id: "{{ vault.id }}"
    group_id: vault
    private_dns_zone_ids:
      - "{{ vault_zone.id }}"
'''

RETURN = r'''
resource:
  description: The endpoint as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the endpoint.
  returned: always
  type: str
ip_addresses:
  description: Private addresses of the endpoint, by DNS name (empty in check mode before creation).
  returned: always
  type: dict
  sample:
    kv-imaging-prod.vault.azure.net: [10.20.6.4]
dns_zone_group:
  description: The DNS zone group as ARM returns it (empty when there is none).
  returned: always
  type: dict
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import scope_problem

# Sub-resources (groupIds) Azure offers per target type (azure-docs private-endpoint-dns.md).
GROUP_IDS = {
    'microsoft.keyvault/vaults': ('vault',),
    'microsoft.storage/storageaccounts': ('blob', 'blob_secondary', 'dfs', 'dfs_secondary', 'file', 'queue',
                                          'queue_secondary', 'table', 'table_secondary', 'web', 'web_secondary'),
    'microsoft.healthcareapis/workspaces': ('healthcareworkspace',),
    'microsoft.dbforpostgresql/flexibleservers': ('postgresqlServer',),
    'microsoft.containerservice/managedclusters': ('management',),
    'microsoft.app/managedenvironments': ('managedEnvironments',),
}
ZONE_GROUP = 'default'


def resource_type(resource_id):
    parts = resource_id.split('/')
    return ('%s/%s' % (parts[6], '/'.join(parts[7::2]))).lower() if len(parts) > 8 else ''


def check_input(module):
    params = module.params
    subnet = params['subnet_id']
    if subnet is not None and (scope_problem(subnet) or resource_type(subnet) != 'microsoft.network/virtualnetworks/subnets'):
        invalid(module, 'subnet_id', '%r is not a subnet id' % subnet,
                'Use .../providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>')
    target = params['target_resource_id']
    if target is not None:
        kind = resource_type(target) if not scope_problem(target) else ''
        if not kind:
            invalid(module, 'target_resource_id', '%r is not a resource id' % target, 'Use the id of the service')
        if kind == 'microsoft.healthcareapis/workspaces/dicomservices':
            invalid(module, 'target_resource_id', 'a DICOM service has no private endpoint of its own',
                    'Target its Health Data Services workspace with group_id healthcareworkspace')
        allowed = GROUP_IDS.get(kind)
        if allowed and params['group_id'] is not None and params['group_id'] not in allowed:
            invalid(module, 'group_id', '%r is not a sub-resource of %s' % (params['group_id'], kind),
                    'Use one of %s' % ', '.join(allowed))
    for zone in params['private_dns_zone_ids'] or []:
        if scope_problem(zone) or resource_type(zone) != 'microsoft.network/privatednszones':
            invalid(module, 'private_dns_zone_ids', '%r is not a private DNS zone id' % zone,
                    'Use the id azure_private_dns_zone returns')
    if params['state'] == 'present':
        for option in ('subnet_id', 'target_resource_id', 'group_id'):
            if not params[option]:
                invalid(module, option, 'it is required with state=present', 'Set %s' % option)


def endpoint_body(params):
    return {
        'location': params['location'],
        'tags': params['tags'],
        'properties': {
            'subnet': {'id': params['subnet_id']},
            'privateLinkServiceConnections': [{'name': params['name'], 'properties': {
                'privateLinkServiceId': params['target_resource_id'], 'groupIds': [params['group_id']]}}],
        },
    }


def zone_group_body(zone_ids):
    # One config per zone, named after the zone (dots are not allowed in the name).
    return {'properties': {'privateDnsZoneConfigs': [
        {'name': zone.rsplit('/', 1)[-1].replace('.', '-'), 'properties': {'privateDnsZoneId': zone}}
        for zone in zone_ids]}}


def addresses(endpoint):
    found = {}
    for config in (endpoint.get('properties') or {}).get('customDnsConfigs') or []:
        found[config.get('fqdn')] = config.get('ipAddresses') or []
    return found


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            subnet_id=dict(type='str'),
            target_resource_id=dict(type='str'),
            group_id=dict(type='str'),
            private_dns_zone_ids=dict(type='list', elements='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['network'],
        required_if=[('state', 'present', ('location',))],
    )
    check_name(module, 'name', 'subnet')  # the same 1-80 character rule
    check_input(module)
    params = module.params
    clients = clients_for(module)
    network = clients.get('network')
    group, name = params['resource_group'], params['name']

    endpoint = ArmResource(
        'private endpoint', name,
        read=lambda: network.private_endpoints.get(group, name, cls=raw_json),
        create=lambda body: network.private_endpoints.begin_create_or_update(group, name, body, cls=raw_json),
        delete=lambda: network.private_endpoints.begin_delete(group, name),
        read_only=['properties.networkInterfaces', 'properties.customDnsConfigs', 'properties.ipConfigurations',
                   'properties.manualPrivateLinkServiceConnections'],
        immutable=['location', 'properties.subnet', 'properties.privateLinkServiceConnections'],
        exact=['tags'],
        parent=group_parent(clients, group),
    )
    zone_group = ArmResource(
        'private DNS zone group', '%s/%s' % (name, ZONE_GROUP),
        read=lambda: network.private_dns_zone_groups.get(group, name, ZONE_GROUP, cls=raw_json),
        create=lambda body: network.private_dns_zone_groups.begin_create_or_update(group, name, ZONE_GROUP, body,
                                                                                   cls=raw_json),
        delete=lambda: network.private_dns_zone_groups.begin_delete(group, name, ZONE_GROUP),
        parent=endpoint,
    )
    engine = engine_for(module)
    try:
        if params['state'] == 'absent':
            result = engine.absent(endpoint)  # Azure removes the zone group (and its records) with the endpoint
            module.exit_json(id='', ip_addresses={}, dns_zone_group={}, **result)
        result = engine.present(endpoint, endpoint_body(params))
        planned = module.check_mode and result['changed'] and not result['diff']['before']
        zones = params['private_dns_zone_ids']
        group_result = None
        if zones is not None and planned:  # nothing to read under an endpoint that does not exist yet
            group_result = {'changed': bool(zones), 'diff': {'before': {}, 'after': zone_group_body(zones)},
                            'resource': zone_group_body(zones)}
        elif zones:
            group_result = engine.present(zone_group, zone_group_body(zones))
        elif zones is not None:
            group_result = engine.absent(zone_group)
    except AzureOperationError as exc:
        fail(module, exc)
    if group_result is not None:
        result['changed'] = result['changed'] or group_result['changed']
        for side in ('before', 'after'):
            if group_result['diff'][side]:
                result['diff'][side]['privateDnsZoneGroup'] = group_result['diff'][side]
    found = result['resource'] or {}
    module.exit_json(id=found.get('id') or '', ip_addresses=addresses(found),
                     dns_zone_group=(group_result or {}).get('resource') or {}, **result)


if __name__ == '__main__':
    main()
