#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_log_analytics_workspace
short_description: Create, update or delete an Azure Log Analytics workspace
version_added: 0.1.0
description:
  - A Log Analytics workspace (Microsoft.OperationalInsights/workspaces) receives the console and system logs of a
    Container Apps environment (M(medimaging.orthanc.azure_container_app_environment) links it with its shared key).
  - Returns the workspace id (customer id) that agents and environments name; its shared keys are never returned.
options:
  resource_group:
    description: Resource group of the workspace. It must exist.
    type: str
    required: true
  name:
    description: Workspace name, 4-63 letters, digits and hyphens, starting and ending with a letter or digit.
    type: str
    required: true
  sku:
    description: Pricing tier.
    type: str
    default: PerGB2018
    choices: [PerGB2018, CapacityReservation, Standalone]
  retention_in_days:
    description: How long logs are kept, 30-730 days (PerGB2018). Logs may hold host names and request paths; keep
      what your policy requires, no more.
    type: int
    default: 30
  daily_quota_gb:
    description: Daily ingestion cap in GB (-1 for none).
    type: float
  state:
    description: Whether the workspace exists. V(absent) deletes it (Azure keeps it recoverable for 14 days).
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
- name: Logs of the Container Apps environment
  medimaging.orthanc.azure_log_analytics_workspace:
    resource_group: rg-pacs
    name: log-pacs
    location: westeurope
    retention_in_days: 30
  register: logs
'''

RETURN = r'''
resource:
  description: The workspace as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the workspace (what azure_container_app_environment's log_analytics_workspace_id takes).
  returned: always
  type: str
customer_id:
  description: The workspace id (a GUID) agents send logs to; empty in check mode before creation.
  returned: always
  type: str
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, converge, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.container_app_body import name_problem


def desired_body(params):
    quota = params['daily_quota_gb']
    return {'location': params['location'], 'tags': params['tags'],
            'properties': {'sku': {'name': params['sku']}, 'retentionInDays': params['retention_in_days'],
                           'workspaceCapping': {'dailyQuotaGb': quota} if quota is not None else None}}


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            sku=dict(type='str', default='PerGB2018', choices=['PerGB2018', 'CapacityReservation', 'Standalone']),
            retention_in_days=dict(type='int', default=30),
            daily_quota_gb=dict(type='float'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['loganalytics'],
        required_if=[('state', 'present', ('location',))],
    )
    params = module.params
    problem = name_problem('log_analytics_workspace', params['name'])
    if problem:
        invalid(module, 'name', '%r does not follow the naming rule (%s)' % (params['name'], problem),
                'Choose a name that does')
    if not 30 <= params['retention_in_days'] <= 730:
        invalid(module, 'retention_in_days', '%d is outside 30-730' % params['retention_in_days'],
                'Choose a retention between 30 and 730 days')
    clients = clients_for(module)
    workspaces = clients.get('loganalytics').workspaces
    group, name = params['resource_group'], params['name']
    resource = ArmResource(
        'Log Analytics workspace', name,
        read=lambda: workspaces.get(group, name, cls=raw_json),
        create=lambda body: workspaces.begin_create_or_update(group, name, body, cls=raw_json),
        delete=lambda: workspaces.begin_delete(group, name),
        read_only=['properties.customerId', 'properties.createdDate', 'properties.modifiedDate',
                   'properties.workspaceCapping.quotaNextResetTime', 'properties.workspaceCapping.dataIngestionStatus',
                   'properties.sku.lastSkuUpdate'],
        immutable=['location'],
        exact=['tags'],
        case_insensitive=['properties.sku.name'],
        parent=group_parent(clients, group),
    )
    result = converge(module, resource, desired_body(params))
    found = result['resource'] or {}
    result['id'] = found.get('id') or ''
    result['customer_id'] = (found.get('properties') or {}).get('customerId') or ''
    module.exit_json(**result)


if __name__ == '__main__':
    main()
