#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_private_dns_zone
short_description: Create, update or delete an Azure private DNS zone and its virtual network links
version_added: 0.1.0
description:
  - A private DNS zone (Microsoft.Network/privateDnsZones) answers names inside the virtual networks linked to it.
    Private endpoints publish their addresses in zones such as C(privatelink.vaultcore.azure.net) (Key Vault),
    C(privatelink.blob.core.windows.net) (Blob), C(privatelink.dicom.azurehealthcareapis.com) (DICOM service),
    C(privatelink.postgres.database.azure.com) (PostgreSQL); a VNet-integrated flexible server uses a zone of its
    own ending in C(.postgres.database.azure.com).
  - The links (Microsoft.Network/privateDnsZones/virtualNetworkLinks) are declared with the zone because a zone is
    useless without them. Each listed link is created or updated; links that are not listed are left alone. With
    O(state=absent) every link of the zone is removed first, as Azure refuses to delete a zone that still has links.
  - Zones and links live in location C(global).
options:
  resource_group:
    description: Resource group of the zone. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Zone name, a DNS name of at least two labels such as V(privatelink.vaultcore.azure.net).
    type: str
    required: true
  tags:
    description: Tags of the zone. When set, the zone carries exactly these tags.
    type: dict
  virtual_network_links:
    description: Virtual networks whose resources resolve names in this zone.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Link name, 1-80 letters, digits, underscores, periods and hyphens.
        type: str
        required: true
      virtual_network_id:
        description: Resource id of the virtual network.
        type: str
        required: true
      registration_enabled:
        description: Register the virtual machines of the network in the zone automatically (not for privatelink zones).
        type: bool
        default: false
  state:
    description: Whether the zone (and its links) exist.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Key Vault names resolve to the private endpoint inside the PACS network
  medimaging.orthanc.azure_private_dns_zone:
    resource_group: rg-imaging-prod
    name: privatelink.vaultcore.azure.net
    virtual_network_links:
      - name: vnet-imaging
        virtual_network_id: "{{ vnet.id }}"
  register: vault_zone
'''

RETURN = r'''
resource:
  description: The zone as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the zone (what a private endpoint's DNS zone group names).
  returned: always
  type: str
links:
  description: The listed links as ARM returns them, by name (empty after deletion).
  returned: always
  type: dict
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import (
    AzureOperationError, from_exception)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import name_problem
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import scope_problem

# 2-34 labels of 1-63 letters, digits and hyphens (not at either end); at most 253 characters.
ZONE = re.compile(r'(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,33}'
                  r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z')


def check_input(module):
    params = module.params
    if not ZONE.match(params['name']):
        invalid(module, 'name', '%r is not a DNS zone name of at least two labels' % params['name'],
                'Use a name such as privatelink.vaultcore.azure.net')
    for link in params['virtual_network_links']:
        if name_problem('subnet', link['name']):  # links follow the same 1-80 character rule as subnets
            invalid(module, 'virtual_network_links[].name', '%r does not follow the naming rule (%s)' % (
                link['name'], name_problem('subnet', link['name'])), 'Choose a name that does')
        vnet = link['virtual_network_id']
        if scope_problem(vnet) or '/providers/microsoft.network/virtualnetworks/' not in vnet.lower() \
                or vnet.lower().count('/') != 8:
            invalid(module, 'virtual_network_links[%s].virtual_network_id' % link['name'],
                    '%r is not a virtual network id' % vnet,
                    'Use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>')


def merge_result(total, name, result):
    total['changed'] = total['changed'] or result['changed']
    for side in ('before', 'after'):
        if result['diff'][side]:
            total['diff'][side].setdefault('virtualNetworkLinks', {})[name] = result['diff'][side]


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            tags=dict(type='dict'),
            virtual_network_links=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                virtual_network_id=dict(type='str', required=True),
                registration_enabled=dict(type='bool', default=False),
            )),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['privatedns'],
    )
    check_input(module)
    params = module.params
    clients = clients_for(module)
    client = clients.get('privatedns')
    group, zone = params['resource_group'], params['name']

    zone_resource = ArmResource(
        'private DNS zone', zone,
        read=lambda: client.private_zones.get(group, zone, cls=raw_json),
        create=lambda body: client.private_zones.begin_create_or_update(group, zone, body, cls=raw_json),
        delete=lambda: client.private_zones.begin_delete(group, zone),
        read_only=['properties.numberOfRecordSets', 'properties.maxNumberOfRecordSets',
                   'properties.numberOfVirtualNetworkLinks', 'properties.maxNumberOfVirtualNetworkLinks',
                   'properties.numberOfVirtualNetworkLinksWithRegistration',
                   'properties.maxNumberOfVirtualNetworkLinksWithRegistration', 'properties.internalId'],
        exact=['tags'],
        parent=group_parent(clients, group),
    )

    def link_resource(name):
        links = client.virtual_network_links
        return ArmResource(
            'virtual network link', '%s/%s' % (zone, name),
            read=lambda: links.get(group, zone, name, cls=raw_json),
            create=lambda body: links.begin_create_or_update(group, zone, name, body, cls=raw_json),
            delete=lambda: links.begin_delete(group, zone, name),
            read_only=['properties.virtualNetworkLinkState'],
            immutable=['properties.virtualNetwork'],
            parent=zone_resource)

    engine = engine_for(module)
    total = {'changed': False, 'diff': {'before': {}, 'after': {}}, 'links': {}}
    try:
        if params['state'] == 'absent':
            current = engine.current(zone_resource)
            if current is not None:
                try:
                    existing = [link.name for link in client.virtual_network_links.list(group, zone)]
                except Exception as exc:
                    raise from_exception(exc, 'list the virtual network links of %s' % zone_resource.label())
                for name in existing:
                    merge_result(total, name, engine.absent(link_resource(name)))
            result = engine.absent(zone_resource, current, have_current=True)
            total['changed'] = total['changed'] or result['changed']
            total['diff']['before'].update(result['diff']['before'])
            module.exit_json(resource={}, id='', **total)
        result = engine.present(zone_resource, {'location': 'global', 'tags': params['tags']})
        total['changed'] = result['changed']
        zone_planned = result['changed'] and not result['diff']['before']
        total['diff']['before'].update(result['diff']['before'])
        total['diff']['after'].update(result['diff']['after'])
        for link in params['virtual_network_links']:
            desired = {'location': 'global', 'properties': {
                'virtualNetwork': {'id': link['virtual_network_id']},
                'registrationEnabled': link['registration_enabled']}}
            if module.check_mode and zone_planned:  # nothing to read under a zone that does not exist yet
                done = {'changed': True, 'diff': {'before': {}, 'after': desired}, 'resource': desired}
            else:
                done = engine.present(link_resource(link['name']), desired)
            merge_result(total, link['name'], done)
            total['links'][link['name']] = done['resource']
    except AzureOperationError as exc:
        fail(module, exc)
    module.exit_json(resource=result['resource'], id=(result['resource'] or {}).get('id') or '', **total)


if __name__ == '__main__':
    main()
