#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_key_vault
short_description: Create, update or delete an Azure Key Vault (RBAC mode, soft delete, purge protection, network rules)
version_added: 0.1.0
description:
  - A Key Vault (Microsoft.KeyVault/vaults) holds the secrets of a deployment (database passwords, OAuth client
    secrets); workloads read them with their managed identity and the Key Vault Secrets User role.
  - Secure by default. Access is Azure RBAC (no access policies), purge protection is on, and soft delete keeps a
    deleted vault for O(soft_delete_retention_days). Azure allows neither turning purge protection off nor changing
    the retention period later; the module says so before any write.
  - A deleted vault stays soft-deleted and keeps its name (names are global). Create it again with
    O(recover=true), or delete it with O(purge=true) when purge protection is off.
  - Only the options that are set are compared.
options:
  resource_group:
    description: Resource group of the vault. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Vault name, globally unique, 3-24 letters, digits and single hyphens, starting with a letter.
    type: str
    required: true
  tenant_id:
    description: Entra ID tenant that authenticates requests to the vault. Defaults to the O(tenant) of the
      authentication options; one of the two is required to create.
    type: str
  sku:
    description: Pricing tier. V(premium) adds HSM-protected keys.
    type: str
    choices: [standard, premium]
    default: standard
  enable_rbac_authorization:
    description: Authorize data-plane access with Azure RBAC roles. Always sent, because newer API versions change
      the default. V(false) falls back to access policies, which this module does not manage.
    type: bool
    default: true
  soft_delete_retention_days:
    description: Days a deleted vault (and deleted secrets) can be recovered, 7-90. Set at creation only.
    type: int
  enable_purge_protection:
    description: Forbid purging deleted vaults and secrets during the retention period. Cannot be turned off once on.
    type: bool
    default: true
  public_network_access:
    description: Accept traffic from public networks. Choose V(Disabled) with a private endpoint.
    type: str
    choices: [Enabled, Disabled]
  network_acls:
    description: Network rules (used when O(public_network_access=Enabled)). When set, the vault holds exactly these rules.
    type: dict
    suboptions:
      default_action:
        description: What happens to traffic no rule matches.
        type: str
        choices: [Allow, Deny]
        default: Deny
      bypass:
        description: Let trusted Azure services through regardless of the rules.
        type: str
        choices: [AzureServices, None]
        default: AzureServices
      ip_rules:
        description: Public IPv4 addresses or CIDR ranges allowed in.
        type: list
        elements: str
        default: []
      virtual_network_subnet_ids:
        description: Resource ids of subnets allowed in (they need the Microsoft.KeyVault service endpoint).
        type: list
        elements: str
        default: []
  recover:
    description: Create the vault by recovering a soft-deleted vault of the same name (Azure refuses a plain create then).
    type: bool
    default: false
  purge:
    description: With O(state=absent), purge the vault after deleting it (or, when it is already soft-deleted, purge
      it; O(location) is needed then), so its name is free at once. Refused by Azure while purge protection is on.
    type: bool
    default: false
  state:
    description: Whether the vault exists.
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
- name: Vault for the PACS secrets, reachable only through its private endpoint
  medimaging.orthanc.azure_key_vault:
    resource_group: rg-imaging-prod
    name: kv-imaging-prod
    location: westeurope
    public_network_access: Disabled
    network_acls:
      default_action: Deny
  register: vault

- name: Secrets go to the vault URI
  ansible.builtin.debug:
    msg: "{{ vault.vault_uri }}"
'''

RETURN = r'''
resource:
  description: The vault as ARM returns it (empty after deletion).
  returned: always
  type: dict
vault_uri:
  description: Data-plane URI of the vault (empty in check mode before creation and after deletion).
  returned: always
  type: str
  sample: https://kv-imaging-prod.vault.azure.net/
id:
  description: Resource id of the vault (the scope of Key Vault role assignments).
  returned: always
  type: str
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError, from_exception
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import name_problem
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import scope_problem


def check_input(module, settings_tenant):
    params = module.params
    days = params['soft_delete_retention_days']
    if days is not None and not 7 <= days <= 90:
        invalid(module, 'soft_delete_retention_days', '%d is outside 7-90' % days, 'Choose 7 to 90 days')
    tenant = params['tenant_id'] or settings_tenant
    if tenant is not None and name_problem('guid', tenant):
        invalid(module, 'tenant_id', '%r is not a tenant id' % tenant, 'Use the GUID of the Entra ID tenant')
    acls = params['network_acls'] or {}
    for subnet in acls.get('virtual_network_subnet_ids') or []:
        if scope_problem(subnet) or '/subnets/' not in subnet.lower():
            invalid(module, 'network_acls.virtual_network_subnet_ids', '%r is not a subnet resource id' % subnet,
                    'Use /subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>')
    if params['recover'] and params['purge']:
        invalid(module, 'purge', 'purge and recover exclude each other', 'Choose one')
    return tenant


def desired_body(params, tenant):
    acls = params['network_acls']
    return {
        'location': params['location'],
        'tags': params['tags'],
        'properties': {
            'tenantId': tenant,
            'sku': {'family': 'A', 'name': params['sku']},
            'enableRbacAuthorization': params['enable_rbac_authorization'],
            'enableSoftDelete': True,  # Azure no longer allows vaults without it
            'softDeleteRetentionInDays': params['soft_delete_retention_days'],
            'enablePurgeProtection': params['enable_purge_protection'] or None,  # false: leave as it is (see below)
            'publicNetworkAccess': params['public_network_access'],
            'networkAcls': None if acls is None else {
                'defaultAction': acls['default_action'], 'bypass': acls['bypass'],
                # Azure answers a single address as a /32 range: send it that way so a re-run compares equal.
                'ipRules': [{'value': value if '/' in value else value + '/32'} for value in acls['ip_rules']],
                'virtualNetworkRules': [{'id': subnet} for subnet in acls['virtual_network_subnet_ids']],
            },
        },
    }


def refuse_purge_protection_off(params, current, resource):
    """Azure cannot turn purge protection off: say so instead of sending a PUT it refuses."""
    on = ((current or {}).get('properties') or {}).get('enablePurgeProtection') is True
    if on and params['enable_purge_protection'] is False and params['state'] == 'present':
        raise AzureOperationError(
            'update %s' % resource.label(), code='ImmutableField',
            message='purge protection is on and Azure cannot turn it off (the task asks enable_purge_protection=false)',
            hint='keep enable_purge_protection=true; a vault with purge protection is removed only when its '
                 'retention period has passed after deletion')


def purge_deleted(module, vaults, name, result):
    """state=absent purge=true on a vault that is already soft-deleted: purge it (needs location)."""
    location = module.params['location']
    if not location:
        invalid(module, 'location', 'purging a soft-deleted vault needs its location', 'Set location')
    asked = "purge the deleted Key Vault '%s'" % name
    try:
        deleted = vaults.get_deleted(name, location, cls=raw_json)
    except Exception as exc:  # ResourceNotFoundError: nothing to purge
        if getattr(exc, 'status_code', None) == 404:
            return result
        raise from_exception(exc, asked)
    result = {'changed': True, 'diff': {'before': {'deletedVault': deleted.get('id')}, 'after': {}}, 'resource': {}}
    if not module.check_mode:
        try:
            vaults.begin_purge_deleted(name, location).result()
        except Exception as exc:
            raise from_exception(exc, asked)
    return result


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            tenant_id=dict(type='str'),
            sku=dict(type='str', default='standard', choices=['standard', 'premium']),
            enable_rbac_authorization=dict(type='bool', default=True),
            soft_delete_retention_days=dict(type='int'),
            enable_purge_protection=dict(type='bool', default=True),
            public_network_access=dict(type='str', choices=['Enabled', 'Disabled']),
            network_acls=dict(type='dict', options=dict(
                default_action=dict(type='str', default='Deny', choices=['Allow', 'Deny']),
                bypass=dict(type='str', default='AzureServices', choices=['AzureServices', 'None']),
                ip_rules=dict(type='list', elements='str', default=[]),
                virtual_network_subnet_ids=dict(type='list', elements='str', default=[]),
            )),
            recover=dict(type='bool', default=False),
            purge=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['keyvault'],
        required_if=[('state', 'present', ('location',))],
    )
    check_name(module, 'name', 'key_vault')
    params = module.params
    clients = clients_for(module)
    tenant = check_input(module, clients.settings.tenant)
    vaults = clients.get('keyvault').vaults
    group, name = params['resource_group'], params['name']

    def create(body):
        if params['recover']:
            body = dict(body, properties=dict(body['properties'], createMode='recover'))
        return vaults.begin_create_or_update(group, name, body, cls=raw_json)

    def delete():
        vaults.delete(group, name)
        if params['purge']:
            return vaults.begin_purge_deleted(name, current['location'])
        return None

    resource = ArmResource(
        'Key Vault', name,
        read=lambda: vaults.get(group, name, cls=raw_json),
        create=create, delete=delete,
        read_only=['properties.vaultUri', 'properties.hsmPoolResourceId', 'properties.privateEndpointConnections',
                   'properties.accessPolicies'],
        immutable=['location', 'properties.softDeleteRetentionInDays', 'properties.tenantId'],
        exact=['tags'],
        case_insensitive=['properties.sku.name'],
        parent=group_parent(clients, group),
    )
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
            if current is None and params['purge']:
                result = purge_deleted(module, vaults, name, result)
        else:
            if current is None and tenant is None:
                invalid(module, 'tenant_id', 'it is required to create a vault', 'Set tenant_id (or the tenant '
                        'authentication option)')
            refuse_purge_protection_off(params, current, resource)
            result = engine.present(resource, desired_body(params, tenant), current, have_current=True)
    except AzureOperationError as exc:
        fail(module, exc)
    found = result['resource'] or {}
    result['vault_uri'] = (found.get('properties') or {}).get('vaultUri') or ''
    result['id'] = found.get('id') or ''
    module.exit_json(**result)


if __name__ == '__main__':
    main()
