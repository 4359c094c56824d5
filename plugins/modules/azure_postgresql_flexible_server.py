#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_postgresql_flexible_server
short_description: Create, update or delete an Azure Database for PostgreSQL flexible server
version_added: 0.1.0
description:
  - Creates the server with PUT, changes it with PATCH (only the options that are set), deletes it.
  - Network mode (public with firewall rules, or private in a delegated subnet with a private DNS zone),
    the administrator login, geo-redundant backup and the availability zone are fixed at creation;
    asking to change them fails with a clear message instead of a surprise.
  - The administrator password is sent on creation only, unless O(update_password=always).
options:
  resource_group:
    description: Resource group of the server. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Server name, 3-63 lower-case letters, digits and hyphens; part of its global DNS name.
    type: str
    required: true
  version:
    description: PostgreSQL major version. Raising it on an existing server runs an in-place major upgrade.
    type: str
    choices: ['13', '14', '15', '16', '17']
  sku:
    description: Compute size. The name must belong to the tier (B for Burstable, D for GeneralPurpose,
      E for MemoryOptimized).
    type: dict
    suboptions:
      name:
        description: SKU name, for example V(Standard_D2ds_v5).
        type: str
        required: true
      tier:
        description: Pricing tier.
        type: str
        required: true
        choices: [Burstable, GeneralPurpose, MemoryOptimized]
  storage_size_gb:
    description: Storage size; it can grow but never shrink.
    type: int
    choices: [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767]
  storage_auto_grow:
    description: Grow storage automatically before it is full.
    type: bool
  backup_retention_days:
    description: Days of point-in-time restore, 7 to 35.
    type: int
  geo_redundant_backup:
    description: Keep backups in the paired region (set at creation).
    type: bool
  high_availability:
    description: Standby replica mode. Not available in the Burstable tier.
    type: str
    choices: [Disabled, ZoneRedundant, SameZone]
  availability_zone:
    description: Preferred availability zone (set at creation).
    type: str
  public_network_access:
    description: Public access mode (use firewall rules to open it). Must be V(Disabled) with O(delegated_subnet_id).
    type: str
    choices: [Enabled, Disabled]
  delegated_subnet_id:
    description: Resource id of a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers (private access,
      set at creation).
    type: str
  private_dns_zone_id:
    description: Resource id of the private DNS zone for private access (set at creation).
    type: str
  administrator_login:
    description: Administrator user name (set at creation).
    type: str
  administrator_login_password:
    description: Administrator password. Never logged nor returned.
    type: str
  update_password:
    description: V(on_create) sends the password only when creating; V(always) sends it on every run
      (the task then always reports changed).
    type: str
    default: on_create
    choices: [always, on_create]
  password_auth:
    description: Allow PostgreSQL password authentication.
    type: bool
  entra_auth:
    description: Allow Microsoft Entra ID authentication.
    type: bool
  state:
    description: Whether the server exists.
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
- name: Orthanc index server, public access closed down to firewall rules
  medimaging.orthanc.azure_postgresql_flexible_server:
    resource_group: rg-imaging-prod
    name: pacs-index
    location: westeurope
    version: '16'
    sku:
      name: Standard_D2ds_v5
      tier: GeneralPurpose
    storage_size_gb: 128
    backup_retention_days: 14
    high_availability: ZoneRedundant
    public_network_access: Enabled
    administrator_login: orthancadmin
    administrator_login_password: "{{ vault_pg_admin_password }}"
'''

RETURN = r'''
resource:
  description: The server as ARM returns it (never with the password; empty after deletion).
  returned: always
  type: dict
fqdn:
  description: Host name clients connect to.
  returned: always
  type: str
  sample: pacs-index.postgres.database.azure.com
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError, from_exception
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent

SKU_PREFIX = {'Burstable': 'Standard_B', 'GeneralPurpose': 'Standard_D', 'MemoryOptimized': 'Standard_E'}


def _flag(value):
    return None if value is None else ('Enabled' if value else 'Disabled')


def desired_body(params):
    sku = params['sku']
    return {
        'location': params['location'],
        'tags': params['tags'],
        'sku': None if sku is None else {'name': sku['name'], 'tier': sku['tier']},
        'properties': {
            'version': params['version'],
            'administratorLogin': params['administrator_login'],
            'availabilityZone': params['availability_zone'],
            'storage': {'storageSizeGB': params['storage_size_gb'], 'autoGrow': _flag(params['storage_auto_grow'])},
            'backup': {'backupRetentionDays': params['backup_retention_days'],
                       'geoRedundantBackup': _flag(params['geo_redundant_backup'])},
            'highAvailability': {'mode': params['high_availability']},
            'network': {'publicNetworkAccess': params['public_network_access'],
                        'delegatedSubnetResourceId': params['delegated_subnet_id'],
                        'privateDnsZoneArmResourceId': params['private_dns_zone_id']},
            'authConfig': {'passwordAuth': _flag(params['password_auth']),
                           'activeDirectoryAuth': _flag(params['entra_auth'])},
        },
    }


def validate(module):
    params = module.params
    sku = params['sku']
    if sku and not sku['name'].startswith(SKU_PREFIX[sku['tier']]):
        invalid(module, 'sku.name', "'%s' is not a %s size" % (sku['name'], sku['tier']),
                'Use a %s* size in tier %s (for example %sds_v5), or change sku.tier'
                % (SKU_PREFIX[sku['tier']], sku['tier'], SKU_PREFIX[sku['tier']] + ('2' if sku['tier'] != 'Burstable' else '1ms')))
    if sku and sku['tier'] == 'Burstable' and params['high_availability'] in ('ZoneRedundant', 'SameZone'):
        invalid(module, 'high_availability', 'the Burstable tier has no high availability',
                'Use tier GeneralPurpose or MemoryOptimized, or high_availability=Disabled')
    days = params['backup_retention_days']
    if days is not None and not 7 <= days <= 35:
        invalid(module, 'backup_retention_days', '%s is outside 7..35' % days, 'Choose between 7 and 35 days')
    if params['delegated_subnet_id'] and params['public_network_access'] == 'Enabled':
        invalid(module, 'public_network_access', 'a server in a delegated subnet cannot have public access',
                'Set public_network_access=Disabled (or leave it unset) for private access')
    if bool(params['delegated_subnet_id']) != bool(params['private_dns_zone_id']):
        invalid(module, 'private_dns_zone_id', 'private access needs both delegated_subnet_id and private_dns_zone_id',
                'Give both, or neither for public access')


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            version=dict(type='str', choices=['13', '14', '15', '16', '17']),
            sku=dict(type='dict', options=dict(
                name=dict(type='str', required=True),
                tier=dict(type='str', required=True, choices=['Burstable', 'GeneralPurpose', 'MemoryOptimized']),
            )),
            storage_size_gb=dict(type='int', choices=[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767]),
            storage_auto_grow=dict(type='bool'),
            backup_retention_days=dict(type='int'),
            geo_redundant_backup=dict(type='bool'),
            high_availability=dict(type='str', choices=['Disabled', 'ZoneRedundant', 'SameZone']),
            availability_zone=dict(type='str'),
            public_network_access=dict(type='str', choices=['Enabled', 'Disabled']),
            delegated_subnet_id=dict(type='str'),
            private_dns_zone_id=dict(type='str'),
            administrator_login=dict(type='str'),
            administrator_login_password=dict(type='str', no_log=True),
            update_password=dict(type='str', default='on_create', choices=['always', 'on_create'], no_log=False),
            password_auth=dict(type='bool', no_log=False),
            entra_auth=dict(type='bool'),
            tags=dict(type='dict'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['postgresql_flexible'],
        required_if=[('state', 'present', ('location',))],
    )
    check_name(module, 'name', 'postgresql_server')
    validate(module)
    params = module.params
    clients = clients_for(module)
    client = clients.get('postgresql_flexible')
    group, name = params['resource_group'], params['name']
    servers = client.servers
    # azure-mgmt-postgresqlflexibleservers 1.x calls the create operation begin_create.
    create_call = getattr(servers, 'begin_create_or_update', None) or servers.begin_create
    password = params['administrator_login_password']

    resource = ArmResource(
        'PostgreSQL flexible server', name,
        read=lambda: servers.get(group, name, cls=raw_json),
        create=lambda body: create_call(group, name, body, cls=raw_json),
        update=lambda body: servers.begin_update(group, name, body, cls=raw_json),
        delete=lambda: servers.begin_delete(group, name),
        update_mode='patch',
        read_only=['properties.fullyQualifiedDomainName', 'properties.state', 'properties.minorVersion',
                   'properties.highAvailability.state', 'properties.replicaCapacity'],
        immutable=['location', 'properties.administratorLogin', 'properties.availabilityZone',
                   'properties.network.delegatedSubnetResourceId', 'properties.network.privateDnsZoneArmResourceId',
                   'properties.backup.geoRedundantBackup'],
        create_only=['location'],
        exact=['tags'],
        write_only={'properties.administratorLoginPassword': password},
        parent=group_parent(clients, group),
    )
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
        else:
            if current is None and params['password_auth'] is not False and not (
                    password and params['administrator_login']):
                invalid(module, 'administrator_login_password',
                        'creating a server with password authentication needs administrator_login and its password',
                        'Set both (the password from a vault), or password_auth=false with entra_auth=true')
            result = engine.present(resource, desired_body(params), current, have_current=True)
            if current is not None and params['update_password'] == 'always' and password:
                result['changed'] = True
                if not module.check_mode:
                    poller = servers.begin_update(
                        group, name, {'properties': {'administratorLoginPassword': password}}, cls=raw_json)
                    engine.finish(poller, 'set the administrator password of %s' % resource.label())
    except AzureOperationError as exc:
        fail(module, exc)
    except Exception as exc:
        fail(module, from_exception(exc, 'set the administrator password of server %s' % name))
    found = result.get('resource') or {}
    result['fqdn'] = (found.get('properties') or {}).get('fullyQualifiedDomainName') or ''
    module.exit_json(**result)


if __name__ == '__main__':
    main()
