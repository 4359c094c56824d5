#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_dicom_service
short_description: Create, update or delete an Azure Health Data Services DICOM service
version_added: 0.1.0
description:
  - A DICOM service (Microsoft.HealthcareApis/workspaces/dicomservices) is a managed DICOMweb endpoint.
  - Compares only the options that are set. Returns the service URL and the token audiences (read-only in Azure)
    an OAuth client such as the Orthanc plugin asks a token for.
  - Data lake mode (O(storage_resource_id)) keeps the DICOM files in your own Data Lake Storage Gen2 account;
    it can only be chosen when the service is created.
options:
  resource_group:
    description: Resource group of the workspace. It must exist; a missing group (or workspace) fails before any write, in check mode too.
    type: str
    required: true
  workspace:
    description: Name of the Health Data Services workspace.
    type: str
    required: true
  name:
    description: DICOM service name, 3-24 lower-case letters, digits and hyphens.
    type: str
    required: true
  location:
    # Replaces the location of the azure_resource_common fragment (options of the module win over a fragment's).
    description: Azure region (the workspace's). Required to create; cannot change afterwards.
    type: str
  public_network_access:
    description: Accept traffic from public networks. Choose V(Disabled) with private endpoints.
    type: str
    choices: [Enabled, Disabled]
  cors:
    description: CORS settings for browser viewers. Only the suboptions that are set are compared and changed.
    type: dict
    suboptions:
      origins:
        description: Allowed origins.
        type: list
        elements: str
      headers:
        description: Allowed headers.
        type: list
        elements: str
      methods:
        description: Allowed methods.
        type: list
        elements: str
        choices: [DELETE, GET, OPTIONS, PATCH, POST, PUT]
      max_age:
        description: Seconds a browser may cache the preflight answer.
        type: int
      allow_credentials:
        description: Whether credentials are allowed.
        type: bool
  storage_resource_id:
    description:
      - Resource id of a Data Lake Storage Gen2 account (hierarchical namespace on) for data lake mode.
      - Needs O(identity); the service reaches the account with its managed identity.
      - Never move that container's blobs to the Archive tier; the service cannot read archived blobs.
    type: str
  storage_file_system:
    description: File system (container) in O(storage_resource_id) that holds the DICOM data.
    type: str
  encryption_key_url:
    description: Key Vault key URL for customer-managed key encryption (set at creation). Needs O(identity);
      the service reads the key with its managed identity.
    type: str
  enable_data_partitions:
    description: Turn on data partitions (set at creation; cannot be turned off).
    type: bool
  state:
    description: Whether the DICOM service exists.
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
- name: DICOM service reachable only through private endpoints
  medimaging.orthanc.azure_dicom_service:
    resource_group: rg-imaging-prod
    workspace: imagingws
    name: pacs
    location: westeurope
    public_network_access: Disabled
    identity:
      type: SystemAssigned
  register: dicom

- name: Give the plugin its endpoint
  ansible.builtin.debug:
    msg: "{{ dicom.service_url }} (token scope {{ dicom.audiences[0] }}/.default)"
'''

RETURN = r'''
resource:
  description: The DICOM service as ARM returns it (empty after deletion).
  returned: always
  type: dict
service_url:
  description: DICOMweb base URL of the service (empty before creation and after deletion).
  returned: always
  type: str
  sample: https://imagingws-pacs.dicom.azurehealthcareapis.com
audiences:
  description: Token audiences the service accepts; ask a token for C(<audience>/.default).
  returned: always
  type: list
  elements: str
  sample: [https://dicom.healthcareapis.azure.com]
principal_id:
  description: Object id of the system-assigned identity, when there is one.
  returned: always
  type: str
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import workspace_parent


def desired_body(params):
    cors = params['cors']
    identity = params['identity']
    storage = None
    if params['storage_resource_id']:
        storage = {'storageResourceId': params['storage_resource_id'], 'fileSystemName': params['storage_file_system']}
    encryption = None
    if params['encryption_key_url']:
        encryption = {'customerManagedKeyEncryption': {'keyEncryptionKeyUrl': params['encryption_key_url']}}
    return {
        'location': params['location'],
        'tags': params['tags'],
        'identity': None if identity is None else {
            'type': identity['type'],
            'userAssignedIdentities': None if not identity.get('user_assigned_identities') else dict(
                (rid, {}) for rid in identity['user_assigned_identities']),
        },
        'properties': {
            'publicNetworkAccess': params['public_network_access'],
            'corsConfiguration': None if cors is None else {
                'origins': cors.get('origins'), 'headers': cors.get('headers'), 'methods': cors.get('methods'),
                'maxAge': cors.get('max_age'), 'allowCredentials': cors.get('allow_credentials'),
            },
            'storageConfiguration': storage,
            'encryption': encryption,
            'enableDataPartitions': params['enable_data_partitions'],
        },
    }


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            workspace=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            public_network_access=dict(type='str', choices=['Enabled', 'Disabled']),
            cors=dict(type='dict', options=dict(
                origins=dict(type='list', elements='str'),
                headers=dict(type='list', elements='str'),
                methods=dict(type='list', elements='str', choices=['DELETE', 'GET', 'OPTIONS', 'PATCH', 'POST', 'PUT']),
                max_age=dict(type='int'),
                allow_credentials=dict(type='bool'),
            )),
            identity=dict(type='dict', options=dict(
                type=dict(type='str', required=True,
                          choices=['None', 'SystemAssigned', 'UserAssigned', 'SystemAssigned,UserAssigned']),
                user_assigned_identities=dict(type='list', elements='str'),
            )),
            storage_resource_id=dict(type='str'),
            storage_file_system=dict(type='str'),
            encryption_key_url=dict(type='str', no_log=False),
            enable_data_partitions=dict(type='bool'),
            tags=dict(type='dict'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['healthcareapis'],
        required_if=[('state', 'present', ('location',))],
        required_together=[('storage_resource_id', 'storage_file_system')],
    )
    check_name(module, 'name', 'healthcare')
    check_name(module, 'workspace', 'healthcare')
    params = module.params
    clients = clients_for(module)
    client = clients.get('healthcareapis')
    group, workspace, name = params['resource_group'], params['workspace'], params['name']

    resource = ArmResource(
        'DICOM service', '%s/%s' % (workspace, name),
        read=lambda: client.dicom_services.get(group, workspace, name, cls=raw_json),
        create=lambda body: client.dicom_services.begin_create_or_update(group, workspace, name, body, cls=raw_json),
        delete=lambda: client.dicom_services.begin_delete(group, dicom_service_name=name, workspace_name=workspace),
        read_only=['properties.serviceUrl', 'properties.authenticationConfiguration', 'properties.eventState',
                   'properties.privateEndpointConnections', 'identity.principalId', 'identity.tenantId'],
        immutable=['location', 'properties.storageConfiguration', 'properties.enableDataPartitions',
                   'properties.encryption'],
        exact=['tags', 'identity.userAssignedIdentities'],
        parent=workspace_parent(clients, group, workspace),
    )
    result = converge(module, resource, desired_body(params))
    found = result['resource'] or {}
    props = found.get('properties') or {}
    result['service_url'] = props.get('serviceUrl') or ''
    result['audiences'] = (props.get('authenticationConfiguration') or {}).get('audiences') or []
    result['principal_id'] = (found.get('identity') or {}).get('principalId') or ''
    module.exit_json(**result)


if __name__ == '__main__':
    main()
