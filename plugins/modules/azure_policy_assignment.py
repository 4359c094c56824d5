#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_policy_assignment
short_description: Assign an Azure Policy definition at a scope
version_added: 0.1.0
description:
  - A Microsoft.Authorization/policyAssignments resource at a subscription, resource group or resource scope (an
    Arc-connected cluster, for example). On Kubernetes clusters the Azure Policy extension
    (C(Microsoft.PolicyInsights)) then enforces it with Gatekeeper.
  - Parameters are given as plain values; the module wraps each in the C(value) object Azure takes, and compares
    exactly the parameters set (a parameter dropped from the task is dropped in Azure too).
  - The definition of an existing assignment cannot change; the module says so before any write.
options:
  scope:
    description: Resource id of the scope (C(/subscriptions/...)). It must exist; a missing resource group fails before any write.
    type: str
    required: true
  name:
    description: Assignment name, 1-64 characters without C(%&\\?/) and not ending with a dot or a space.
    type: str
    required: true
  policy_definition_id:
    description:
      - Id of a policy definition or initiative. Built-in ones look like
        C(/providers/Microsoft.Authorization/policyDefinitions/<guid>). Required with O(state=present); cannot change.
    type: str
  display_name:
    description: Name shown in the portal.
    type: str
  description:
    description: Description.
    type: str
  parameters:
    description: Parameter values by name (plain values, not wrapped in C(value) objects).
    type: dict
  enforcement_mode:
    description: V(Default) enforces, V(DoNotEnforce) only reports.
    type: str
    choices: [Default, DoNotEnforce]
    default: Default
  not_scopes:
    description: Resource ids below O(scope) the assignment leaves out.
    type: list
    elements: str
  non_compliance_message:
    description: Message shown when a request is denied.
    type: str
  state:
    description: Whether the assignment exists.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: No privileged containers on the hospital's cluster
  medimaging.orthanc.azure_policy_assignment:
    scope: "{{ arc.id }}"
    name: no-privileged-containers
    policy_definition_id: /providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4
    parameters:
      effect: deny
      excludedNamespaces: [kube-system, gatekeeper-system, azure-arc]
'''

RETURN = r'''
resource:
  description: The assignment as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the assignment (empty when absent or in check mode before creation).
  returned: always
  type: str
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, converge, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import scope_problem

NAME = re.compile(r'[^%&\\?/]{0,63}[^%&\\?/. ]\Z')
DEFINITION = re.compile(r'(/subscriptions/[^/]+|/providers/Microsoft\.Management/managementGroups/[^/]+)?'
                        r'/providers/Microsoft\.Authorization/policy(Set)?Definitions/[^/]+\Z', re.IGNORECASE)
GROUP_SCOPE = re.compile(r'/subscriptions/[^/]+/resourceGroups/([^/]+)', re.IGNORECASE)


def check_input(module):
    params = module.params
    if not NAME.match(params['name']):
        invalid(module, 'name', '%r: 1-64 characters without %%&\\?/, not ending with a dot or a space'
                % params['name'], 'Choose a name that does')
    problem = scope_problem(params['scope'])
    if problem:
        invalid(module, 'scope', '%r is not a scope (%s)' % (params['scope'], problem),
                'Use a resource id: /subscriptions/<id>[/resourceGroups/<group>[/providers/...]]')
    definition = params['policy_definition_id']
    if definition is not None and not DEFINITION.match(definition):
        invalid(module, 'policy_definition_id', '%r is not a policy definition id' % definition,
                'Use /providers/Microsoft.Authorization/policyDefinitions/<name> (built-in) or the id of your own')
    if params['state'] == 'present' and not definition:
        invalid(module, 'policy_definition_id', 'it is required with state=present', 'Set policy_definition_id')


def desired_body(params):
    values = params['parameters']
    return {'properties': {
        'policyDefinitionId': params['policy_definition_id'],
        'displayName': params['display_name'],
        'description': params['description'],
        'parameters': None if values is None else dict((k, {'value': v}) for k, v in values.items()),
        'enforcementMode': params['enforcement_mode'],
        'notScopes': params['not_scopes'],
        'nonComplianceMessages': None if params['non_compliance_message'] is None else [
            {'message': params['non_compliance_message']}],
    }}


def main():
    module = azure_module(
        dict(
            scope=dict(type='str', required=True),
            name=dict(type='str', required=True),
            policy_definition_id=dict(type='str'),
            display_name=dict(type='str'),
            description=dict(type='str'),
            parameters=dict(type='dict'),
            enforcement_mode=dict(type='str', default='Default', choices=['Default', 'DoNotEnforce']),
            not_scopes=dict(type='list', elements='str'),
            non_compliance_message=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['policy'],
    )
    check_input(module)
    params = module.params
    clients = clients_for(module)
    assignments = clients.get('policy').policy_assignments
    scope, name = params['scope'].rstrip('/'), params['name']
    group = GROUP_SCOPE.match(scope)

    desired = desired_body(params)

    def write(body):
        # Exactly the task's parameters: a PUT replaces them all, so one dropped from the task goes too.
        if desired['properties']['parameters'] is not None:
            body['properties']['parameters'] = desired['properties']['parameters']
        return assignments.create(scope, name, body, cls=raw_json)

    resource = ArmResource(
        'policy assignment', name,
        read=lambda: assignments.get(scope, name, cls=raw_json),
        create=write,
        delete=lambda: assignments.delete(scope, name),
        read_only=['properties.scope', 'properties.metadata', 'properties.definitionVersion',
                   'properties.latestDefinitionVersion', 'properties.effectiveDefinitionVersion',
                   'properties.instanceId'],
        immutable=['properties.policyDefinitionId'],
        case_insensitive=['properties.policyDefinitionId'],
        exact=['properties.parameters'],
        parent=group_parent(clients, group.group(1)) if group else None,
    )
    result = converge(module, resource, desired)
    found = result['resource'] or {}
    module.exit_json(id=found.get('id') or '', **result)


if __name__ == '__main__':
    main()
