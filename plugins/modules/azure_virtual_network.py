#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_virtual_network
short_description: Create, update or delete an Azure virtual network with its subnets
version_added: 0.1.0
description:
  - A virtual network (Microsoft.Network/virtualNetworks) and its subnets, declared together. Subnets are part of
    this module rather than a module of their own because Azure's VNet PUT replaces the subnet list; one
    declaration of the whole address plan avoids two tasks undoing each other, is checked as a whole before any
    call (ranges inside the address space, no overlaps, at least /29), and costs one GET when nothing changed.
  - When O(subnets) is set the network holds exactly those subnets; a subnet that still holds a private endpoint,
    a cluster or a delegated service cannot be removed (Azure refuses). When O(subnets) is not set the existing
    subnets are left as they are.
  - Delegations hand a subnet to a service, for example V(Microsoft.App/environments) (Container Apps
    workload-profiles environment, at least /27) or V(Microsoft.DBforPostgreSQL/flexibleServers) (VNet-integrated
    PostgreSQL). A private endpoint subnet needs O(subnets[].private_endpoint_network_policies=Disabled) unless
    network security groups should apply to private endpoints.
options:
  resource_group:
    description: Resource group of the network. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Network name, 1-64 letters, digits, underscores, periods and hyphens.
    type: str
    required: true
  address_prefixes:
    description: Address space, IPv4 ranges in CIDR notation. Required to create.
    type: list
    elements: str
  dns_servers:
    description: Custom DNS servers. An empty list means Azure-provided DNS.
    type: list
    elements: str
  subnets:
    description: The subnets. When set, the network holds exactly these.
    type: list
    elements: dict
    suboptions:
      name:
        description: Subnet name, 1-80 letters, digits, underscores, periods and hyphens.
        type: str
        required: true
      address_prefix:
        description: IPv4 range of the subnet inside O(address_prefixes), /29 or larger.
        type: str
        required: true
      delegations:
        description: Services the subnet is delegated to, as C(Namespace/type) (for example V(Microsoft.App/environments)).
        type: list
        elements: str
        default: []
      service_endpoints:
        description: Service endpoints, for example V(Microsoft.KeyVault) or V(Microsoft.Storage).
        type: list
        elements: str
        default: []
      private_endpoint_network_policies:
        description: Whether network security groups and route tables apply to private endpoints in the subnet.
        type: str
        choices: [Enabled, Disabled, NetworkSecurityGroupEnabled, RouteTableEnabled]
      network_security_group_id:
        description: Resource id of a network security group for the subnet.
        type: str
      default_outbound_access:
        description: Allow default outbound internet access (Azure retires it; V(false) for private subnets).
        type: bool
  state:
    description: Whether the network exists.
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
- name: Production network of the PACS
  medimaging.orthanc.azure_virtual_network:
    resource_group: rg-imaging-prod
    name: vnet-imaging
    location: westeurope
    address_prefixes: [10.20.0.0/16]
    subnets:
      - name: aks
        address_prefix: 10.20.0.0/22
      - name: apps
        address_prefix: 10.20.4.0/27
        delegations: [Microsoft.App/environments]
      - name: postgres
        address_prefix: 10.20.5.0/28
        delegations: [Microsoft.DBforPostgreSQL/flexibleServers]
      - name: private-endpoints
        address_prefix: 10.20.6.0/24
        private_endpoint_network_policies: Disabled
  register: vnet

- name: The id of a subnet, for a private endpoint or a cluster
  ansible.builtin.debug:
    msg: "{{ vnet.subnet_ids['private-endpoints'] }}"
'''

RETURN = r'''
resource:
  description: The network as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the network (what a private DNS zone link names).
  returned: always
  type: str
subnet_ids:
  description: Resource id of each subnet, by name.
  returned: always
  type: dict
  sample:
    private-endpoints: /subscriptions/.../virtualNetworks/vnet-imaging/subnets/private-endpoints
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import name_problem
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_network_input import address_plan_problem
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import scope_problem

SERVICE = re.compile(r'[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+(/[A-Za-z][A-Za-z0-9]*)+\Z')
ENDPOINT = re.compile(r'[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+\Z')


def check_input(module):
    params = module.params
    subnets = params['subnets'] or []
    for subnet in subnets:
        problem = name_problem('subnet', subnet['name'])
        if problem:
            invalid(module, 'subnets[].name', '%r does not follow the naming rule (%s)' % (subnet['name'], problem),
                    'Choose a name that does')
        for service in subnet['delegations']:
            if not SERVICE.match(service):
                invalid(module, 'subnets[%s].delegations' % subnet['name'], '%r is not a service name' % service,
                        'Use Namespace/type, for example Microsoft.App/environments')
        for service in subnet['service_endpoints']:
            if not ENDPOINT.match(service):
                invalid(module, 'subnets[%s].service_endpoints' % subnet['name'], '%r is not a service' % service,
                        'Use a service name such as Microsoft.KeyVault')
        nsg = subnet['network_security_group_id']
        if nsg is not None and (scope_problem(nsg) or '/networksecuritygroups/' not in nsg.lower()):
            invalid(module, 'subnets[%s].network_security_group_id' % subnet['name'],
                    '%r is not a network security group id' % nsg, 'Use the resource id of the group')
    if params['address_prefixes'] is not None or subnets:
        found = address_plan_problem(params['address_prefixes'], subnets)
        if found:
            invalid(module, *found)


def subnet_body(subnet):
    nsg = subnet['network_security_group_id']
    return {
        'name': subnet['name'],
        'properties': {
            'addressPrefix': subnet['address_prefix'],
            # Named after the service: ARM keys delegations by name, and a stable name keeps re-runs equal.
            'delegations': [{'name': service.replace('/', '.'), 'properties': {'serviceName': service}}
                            for service in subnet['delegations']],
            'serviceEndpoints': [{'service': service} for service in subnet['service_endpoints']],
            'privateEndpointNetworkPolicies': subnet['private_endpoint_network_policies'],
            'networkSecurityGroup': {'id': nsg} if nsg else None,
            'defaultOutboundAccess': subnet['default_outbound_access'],
        },
    }


def desired_body(params):
    return {
        'location': params['location'],
        'tags': params['tags'],
        'properties': {
            'addressSpace': None if params['address_prefixes'] is None else {
                'addressPrefixes': params['address_prefixes']},
            'dhcpOptions': None if params['dns_servers'] is None else {'dnsServers': params['dns_servers']},
            'subnets': None if params['subnets'] is None else [subnet_body(s) for s in params['subnets']],
        },
    }


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            address_prefixes=dict(type='list', elements='str'),
            dns_servers=dict(type='list', elements='str'),
            subnets=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                address_prefix=dict(type='str', required=True),
                delegations=dict(type='list', elements='str', default=[]),
                service_endpoints=dict(type='list', elements='str', default=[]),
                private_endpoint_network_policies=dict(
                    type='str', choices=['Enabled', 'Disabled', 'NetworkSecurityGroupEnabled', 'RouteTableEnabled']),
                network_security_group_id=dict(type='str'),
                default_outbound_access=dict(type='bool'),
            )),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['network'],
        required_if=[('state', 'present', ('location', 'address_prefixes'))],
    )
    check_name(module, 'name', 'virtual_network')
    check_input(module)
    params = module.params
    clients = clients_for(module)
    networks = clients.get('network').virtual_networks
    group, name = params['resource_group'], params['name']

    resource = ArmResource(
        'virtual network', name,
        read=lambda: networks.get(group, name, cls=raw_json),
        create=lambda body: networks.begin_create_or_update(group, name, body, cls=raw_json),
        delete=lambda: networks.begin_delete(group, name),
        read_only=['properties.resourceGuid', 'properties.privateEndpointVNetPolicies'],
        immutable=['location'],
        exact=['tags'],
        parent=group_parent(clients, group),
    )
    result = converge(module, resource, desired_body(params))
    found = result['resource'] or {}
    result['id'] = found.get('id') or ''
    result['subnet_ids'] = dict((s.get('name'), s.get('id') or '%s/subnets/%s' % (result['id'], s.get('name')))
                                for s in (found.get('properties') or {}).get('subnets') or [])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
