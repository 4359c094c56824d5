#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_storage_account
short_description: Create, update or delete an Azure storage account with secure defaults
version_added: 0.1.0
description:
  - Creates a StorageV2 account with PUT and changes it with PATCH (only the options that are set).
  - Defaults are secure. TLS 1.2 minimum, HTTPS only, no anonymous blob access, shared keys off
    (use Microsoft Entra ID), networks denied by default except what O(network) allows.
  - Hierarchical namespace (Data Lake Gen2, needed by a DICOM service in data lake mode) and
    infrastructure encryption can only be chosen at creation.
options:
  resource_group:
    description: Resource group of the account. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Account name, 3-24 lower-case letters and digits, globally unique.
    type: str
    required: true
  sku:
    description: Replication. V(Standard_RAGRS) or V(Standard_RAGZRS) keep a readable copy in the paired region.
    type: str
    choices: [Standard_LRS, Standard_ZRS, Standard_GRS, Standard_RAGRS, Standard_GZRS, Standard_RAGZRS, Premium_LRS]
  access_tier:
    description: Default tier of new blobs.
    type: str
    choices: [Hot, Cool, Cold]
  minimum_tls_version:
    description: Oldest TLS version clients may use.
    type: str
    default: TLS1_2
    choices: [TLS1_2, TLS1_3]
  https_only:
    description: Refuse plain HTTP.
    type: bool
    default: true
  allow_blob_public_access:
    description: Allow containers to be made anonymously readable. Keep it off for patient data.
    type: bool
    default: false
  allow_shared_key_access:
    description: Allow account keys and SAS signed with them. Off forces Microsoft Entra ID.
    type: bool
    default: false
  public_network_access:
    description: Whether the public endpoint exists at all (V(Disabled) for private endpoints only).
    type: str
    choices: [Enabled, Disabled]
  network:
    description: Firewall of the public endpoint. When set, the account carries exactly these rules.
    type: dict
    suboptions:
      default_action:
        description: What happens to traffic no rule allows.
        type: str
        default: Deny
        choices: [Allow, Deny]
      bypass:
        description: Traffic that skips the rules, for example V(AzureServices) or V(None).
        type: str
        default: AzureServices
      ip_rules:
        description: Public IPv4 addresses or CIDR ranges that are allowed.
        type: list
        elements: str
        default: []
      subnet_ids:
        description: Resource ids of subnets (with the Microsoft.Storage service endpoint) that are allowed.
        type: list
        elements: str
        default: []
  hierarchical_namespace:
    description: Data Lake Storage Gen2 (set at creation).
    type: bool
  infrastructure_encryption:
    description: Second layer of encryption at rest (set at creation).
    type: bool
  customer_managed_key:
    description: Encrypt with a Key Vault key instead of Microsoft-managed keys. Needs a user-assigned O(identity).
    type: dict
    suboptions:
      key_vault_uri:
        description: Vault URI, for example V(https://kv-imaging.vault.azure.net).
        type: str
        required: true
      key_name:
        description: Key name.
        type: str
        required: true
      key_version:
        description: Key version; leave empty to follow the latest version automatically.
        type: str
      user_assigned_identity:
        description: Resource id of the user-assigned identity allowed to use the key.
        type: str
        required: true
  state:
    description: Whether the account exists. V(absent) deletes it with all its data.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
  - medimaging.orthanc.azure_resource_common
  - medimaging.orthanc.azure_managed_identity
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Archive account reachable from the hospital's egress range only
  medimaging.orthanc.azure_storage_account:
    resource_group: rg-imaging-prod
    name: stimagingarchive
    location: westeurope
    sku: Standard_RAGRS
    network:
      ip_rules: [203.0.113.0/27]
'''

RETURN = r'''
resource:
  description: The account as ARM returns it (never with keys; empty after deletion).
  returned: always
  type: dict
blob_endpoint:
  description: Blob service endpoint of the account.
  returned: always
  type: str
  sample: https://stimagingarchive.blob.core.windows.net/
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent


def _identity(identity):
    if identity is None:
        return None
    ids = identity.get('user_assigned_identities')
    return {'type': identity['type'], 'userAssignedIdentities': dict((i, {}) for i in ids) if ids else None}


def desired_body(params):
    network, cmk = params['network'], params['customer_managed_key']
    encryption = {'requireInfrastructureEncryption': params['infrastructure_encryption']}
    if cmk:
        encryption.update({
            'keySource': 'Microsoft.Keyvault',
            'keyvaultproperties': {'keyvaulturi': cmk['key_vault_uri'], 'keyname': cmk['key_name'],
                                   'keyversion': cmk.get('key_version') or ''},
            'identity': {'userAssignedIdentity': cmk['user_assigned_identity']},
        })
    return {
        'location': params['location'],
        'tags': params['tags'],
        'kind': 'StorageV2',
        'sku': None if params['sku'] is None else {'name': params['sku']},
        'identity': _identity(params['identity']),
        'properties': {
            'accessTier': params['access_tier'],
            'minimumTlsVersion': params['minimum_tls_version'],
            'supportsHttpsTrafficOnly': params['https_only'],
            'allowBlobPublicAccess': params['allow_blob_public_access'],
            'allowSharedKeyAccess': params['allow_shared_key_access'],
            'publicNetworkAccess': params['public_network_access'],
            'isHnsEnabled': params['hierarchical_namespace'],
            'encryption': encryption,
            'networkAcls': None if network is None else {
                'defaultAction': network['default_action'],
                'bypass': network['bypass'],
                'ipRules': [{'value': ip, 'action': 'Allow'} for ip in network['ip_rules']],
                'virtualNetworkRules': [{'id': sid, 'action': 'Allow'} for sid in network['subnet_ids']],
            },
        },
    }


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            sku=dict(type='str', choices=['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_RAGRS',
                                          'Standard_GZRS', 'Standard_RAGZRS', 'Premium_LRS']),
            access_tier=dict(type='str', choices=['Hot', 'Cool', 'Cold']),
            minimum_tls_version=dict(type='str', default='TLS1_2', choices=['TLS1_2', 'TLS1_3']),
            https_only=dict(type='bool', default=True),
            allow_blob_public_access=dict(type='bool', default=False),
            allow_shared_key_access=dict(type='bool', default=False, no_log=False),
            public_network_access=dict(type='str', choices=['Enabled', 'Disabled']),
            network=dict(type='dict', options=dict(
                default_action=dict(type='str', default='Deny', choices=['Allow', 'Deny']),
                bypass=dict(type='str', default='AzureServices', no_log=False),
                ip_rules=dict(type='list', elements='str', default=[]),
                subnet_ids=dict(type='list', elements='str', default=[]),
            )),
            hierarchical_namespace=dict(type='bool'),
            infrastructure_encryption=dict(type='bool'),
            customer_managed_key=dict(type='dict', no_log=False, options=dict(
                key_vault_uri=dict(type='str', required=True, no_log=False),
                key_name=dict(type='str', required=True, no_log=False),
                key_version=dict(type='str', no_log=False),
                user_assigned_identity=dict(type='str', required=True),
            )),
            identity=dict(type='dict', options=dict(
                type=dict(type='str', required=True,
                          choices=['None', 'SystemAssigned', 'UserAssigned', 'SystemAssigned,UserAssigned']),
                user_assigned_identities=dict(type='list', elements='str'),
            )),
            tags=dict(type='dict'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['storage'],
        required_if=[('state', 'present', ('location',))],
    )
    check_name(module, 'name', 'storage_account')
    params = module.params
    clients = clients_for(module)
    accounts = clients.get('storage').storage_accounts
    group, name = params['resource_group'], params['name']

    resource = ArmResource(
        'storage account', name,
        read=lambda: accounts.get_properties(group, name, cls=raw_json),
        create=lambda body: accounts.begin_create(group, name, body, cls=raw_json),
        update=lambda body: accounts.update(group, name, body, cls=raw_json),
        delete=lambda: accounts.delete(group, name),
        update_mode='patch',
        read_only=['properties.primaryEndpoints', 'properties.secondaryEndpoints', 'properties.creationTime',
                   'properties.statusOfPrimary', 'properties.statusOfSecondary', 'properties.primaryLocation',
                   'properties.secondaryLocation', 'properties.keyCreationTime', 'identity.principalId',
                   'identity.tenantId'],
        immutable=['location', 'kind', 'properties.isHnsEnabled', 'properties.encryption.requireInfrastructureEncryption'],
        create_only=['location'],
        exact=['tags', 'identity.userAssignedIdentities'],
        case_insensitive=['properties.encryption.keySource', 'properties.networkAcls.ipRules'],
        parent=group_parent(clients, group),
    )
    result = converge(module, resource, desired_body(params))
    found = result['resource'] or {}
    result['blob_endpoint'] = ((found.get('properties') or {}).get('primaryEndpoints') or {}).get('blob') or ''
    module.exit_json(**result)


if __name__ == '__main__':
    main()
