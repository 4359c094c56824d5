#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_container_app_environment
short_description: Create, update or delete an Azure Container Apps environment
version_added: 0.1.0
description:
  - Converges a Container Apps managed environment (Microsoft.App/managedEnvironments) with its Log Analytics link,
    VNet integration (infrastructure subnet, internal load balancer), zone redundancy and workload profiles.
  - The Log Analytics link needs the workspace's shared key. The module reads it through the workspace's
    sharedKeys action only when it writes the environment, sends it, and never logs, shows or returns it.
  - Location, VNet integration and zone redundancy cannot change after creation; a task that asks is refused
    before any write.
options:
  resource_group:
    description: Resource group of the environment. It must exist.
    type: str
    required: true
  name:
    description: Environment name, 2-60 letters, digits and hyphens.
    type: str
    required: true
  logs_destination:
    description: Where the apps' logs go. Defaults to C(log-analytics) when O(log_analytics_workspace_id) is set.
    type: str
    choices: [log-analytics, azure-monitor, none]
  log_analytics_workspace_id:
    description: Resource id of the Log Analytics workspace (M(medimaging.orthanc.azure_log_analytics_workspace)).
    type: str
  log_analytics_customer_id:
    description: The workspace's customer id when already known (its module returns it), which saves a read.
    type: str
  infrastructure_subnet_id:
    description:
      - Subnet of the environment (VNet integration). A workload-profiles environment needs a /27 or larger subnet
        delegated to Microsoft.App/environments; a consumption-only one a /23 or larger, not delegated.
    type: str
  internal:
    description: Only a private address in the VNet (needs O(infrastructure_subnet_id)).
    type: bool
  zone_redundant:
    description: Spread replicas over availability zones (needs O(infrastructure_subnet_id)).
    type: bool
  infrastructure_resource_group:
    description: Name of the group Azure creates for the environment's infrastructure (workload profiles, VNet).
    type: str
  workload_profiles:
    description: Workload profiles (a workload-profiles environment). Include the C(Consumption) profile to run
      consumption apps beside dedicated ones.
    type: list
    elements: dict
    suboptions:
      name:
        description: Profile name apps refer to.
        type: str
        required: true
      workload_profile_type:
        description: C(Consumption), or a dedicated size such as C(D4), C(E8).
        type: str
        required: true
      minimum_count:
        description: Fewest nodes (dedicated profiles).
        type: int
      maximum_count:
        description: Most nodes (dedicated profiles).
        type: int
  state:
    description: Whether the environment exists. V(absent) deletes it (its apps must be deleted first).
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
- name: Environment logging to Log Analytics
  medimaging.orthanc.azure_container_app_environment:
    resource_group: rg-pacs
    name: cae-pacs
    location: westeurope
    log_analytics_workspace_id: "{{ logs.id }}"
    log_analytics_customer_id: "{{ logs.customer_id }}"

- name: VNet-integrated, internal, zone-redundant, with workload profiles
  medimaging.orthanc.azure_container_app_environment:
    resource_group: rg-pacs
    name: cae-pacs-prod
    location: westeurope
    log_analytics_workspace_id: "{{ logs.id }}"
    infrastructure_subnet_id: "{{ vnet.subnets['snet-apps'].id }}"
    internal: true
    zone_redundant: true
    workload_profiles:
      - name: Consumption
        workload_profile_type: Consumption
'''

RETURN = r'''
resource:
  description: The environment as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the environment (what azure_container_app's environment takes).
  returned: always
  type: str
default_domain:
  description: DNS suffix of the apps' FQDNs.
  returned: always
  type: str
static_ip:
  description: Address of the environment's load balancer.
  returned: always
  type: str
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError, from_exception
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.container_app_body import name_problem

WORKSPACE_ID = re.compile(r'/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.OperationalInsights/'
                          r'workspaces/([^/]+)/?\Z', re.IGNORECASE)


def desired_body(params, customer_id):
    destination = params['logs_destination']
    logs = None
    if destination is not None:
        logs = {'destination': None if destination == 'none' else destination}
        if destination == 'log-analytics':
            logs['logAnalyticsConfiguration'] = {'customerId': customer_id}
    vnet = None
    if params['infrastructure_subnet_id'] is not None:
        vnet = {'infrastructureSubnetId': params['infrastructure_subnet_id'], 'internal': params['internal']}
    profiles = None
    if params['workload_profiles'] is not None:
        profiles = [{'name': p['name'], 'workloadProfileType': p['workload_profile_type'],
                     'minimumCount': p['minimum_count'], 'maximumCount': p['maximum_count']}
                    for p in params['workload_profiles']]
    return {'location': params['location'], 'tags': params['tags'],
            'properties': {'appLogsConfiguration': logs, 'vnetConfiguration': vnet,
                           'zoneRedundant': params['zone_redundant'],
                           'infrastructureResourceGroup': params['infrastructure_resource_group'],
                           'workloadProfiles': profiles}}


def check_inputs(module, params):
    if params['log_analytics_workspace_id'] and params['logs_destination'] is None:
        params['logs_destination'] = 'log-analytics'
    workspace = params['log_analytics_workspace_id']
    if params['logs_destination'] == 'log-analytics':
        if not workspace:
            invalid(module, 'log_analytics_workspace_id', 'logs_destination log-analytics needs the workspace',
                    'Give the resource id of the Log Analytics workspace')
        if not WORKSPACE_ID.match(workspace):
            invalid(module, 'log_analytics_workspace_id', '%r is not a Log Analytics workspace id' % workspace,
                    'Use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/'
                    'workspaces/<name>')
    if (params['internal'] or params['zone_redundant']) and not params['infrastructure_subnet_id']:
        invalid(module, 'internal' if params['internal'] else 'zone_redundant', 'it needs a custom VNet',
                'Set infrastructure_subnet_id too')


def customer_id(clients, workspace):
    asked = 'read Log Analytics workspace %r' % workspace.group(2)
    try:
        found = clients.get('loganalytics').workspaces.get(workspace.group(1), workspace.group(2), cls=raw_json)
    except Exception as exc:
        raise from_exception(exc, asked)
    return ((found or {}).get('properties') or {}).get('customerId')


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            logs_destination=dict(type='str', choices=['log-analytics', 'azure-monitor', 'none']),
            log_analytics_workspace_id=dict(type='str'),
            log_analytics_customer_id=dict(type='str'),
            infrastructure_subnet_id=dict(type='str'),
            internal=dict(type='bool'),
            zone_redundant=dict(type='bool'),
            infrastructure_resource_group=dict(type='str'),
            workload_profiles=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                workload_profile_type=dict(type='str', required=True),
                minimum_count=dict(type='int'),
                maximum_count=dict(type='int'),
            )),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['appcontainers', 'loganalytics'],
        required_if=[('state', 'present', ('location',))],
    )
    params = module.params
    problem = name_problem('managed_environment', params['name'])
    if problem:
        invalid(module, 'name', '%r does not follow the naming rule (%s)' % (params['name'], problem),
                'Choose a name that does')
    if params['state'] == 'present':
        check_inputs(module, params)
    clients = clients_for(module)
    environments = clients.get('appcontainers').managed_environments
    group, name = params['resource_group'], params['name']
    workspace = WORKSPACE_ID.match(params['log_analytics_workspace_id'] or '')

    def shared_key():
        keys = clients.get('loganalytics').shared_keys.get_shared_keys(workspace.group(1), workspace.group(2),
                                                                       cls=raw_json)
        return (keys or {}).get('primarySharedKey')

    def write(body):
        settings = (body.get('properties') or {}).get('appLogsConfiguration') or {}
        if settings.get('destination') == 'log-analytics':
            if workspace is None:
                raise AzureOperationError(
                    'update Container Apps environment %r' % name, code='SharedKeyNeeded',
                    message='the environment logs to Log Analytics and its shared key must be sent with any change',
                    hint='give log_analytics_workspace_id so the module can read the key')
            settings['logAnalyticsConfiguration']['sharedKey'] = shared_key()
        return environments.begin_create_or_update(group, name, body, cls=raw_json)

    resource = ArmResource(
        'Container Apps environment', name,
        read=lambda: environments.get(group, name, cls=raw_json),
        create=write,
        delete=lambda: environments.begin_delete(group, name),
        read_only=['properties.defaultDomain', 'properties.staticIp', 'properties.eventStreamEndpoint',
                   'properties.deploymentErrors', 'properties.customDomainConfiguration.customDomainVerificationId',
                   'properties.appLogsConfiguration.logAnalyticsConfiguration.sharedKey'],
        immutable=['location', 'properties.vnetConfiguration', 'properties.zoneRedundant',
                   'properties.infrastructureResourceGroup'],
        exact=['tags'],
        case_insensitive=['properties.vnetConfiguration.infrastructureSubnetId'],
        parent=group_parent(clients, group),
    )
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
        else:
            customer = params['log_analytics_customer_id']
            if workspace is not None and not customer and params['logs_destination'] == 'log-analytics':
                customer = customer_id(clients, workspace)
            result = engine.present(resource, desired_body(params, customer), current, have_current=True)
    except AzureOperationError as exc:
        fail(module, exc)
    found = result['resource'] or {}
    logs = ((found.get('properties') or {}).get('appLogsConfiguration') or {}).get('logAnalyticsConfiguration')
    if isinstance(logs, dict):
        logs.pop('sharedKey', None)
    props = found.get('properties') or {}
    result.update(id=found.get('id') or '', default_domain=props.get('defaultDomain') or '',
                  static_ip=props.get('staticIp') or '')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
