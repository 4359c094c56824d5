#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_role_assignment
short_description: Grant or revoke an Azure role for a principal on a scope
version_added: 0.1.0
description:
  - Idempotent on the triple (scope, role, principal) whatever name an existing assignment has,
    so an assignment made in the portal is found and not duplicated.
  - A run with nothing to change lists the principal's assignments once (one GET).
  - Built-in roles commonly used with Orthanc are known by name without a lookup; any other role name costs one
    more GET to resolve it.
options:
  scope:
    description: Resource id the role applies to (a subscription, a resource group or a resource).
    type: str
    required: true
  principal_id:
    description: Object id of the user, group, service principal or managed identity.
    type: str
    required: true
  principal_type:
    description: Kind of principal. Setting it avoids replication delays for new identities.
    type: str
    default: ServicePrincipal
    choices: [User, Group, ServicePrincipal, ForeignGroup, Device]
  role:
    description:
      - Role definition name (for example V(DICOM Data Owner)), GUID, or full role definition resource id.
    type: str
    required: true
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
- name: Let Orthanc's managed identity read and write DICOM data
  medimaging.orthanc.azure_role_assignment:
    scope: "{{ dicom.resource.id }}"
    principal_id: "{{ orthanc_identity_principal_id }}"
    role: DICOM Data Owner
'''

RETURN = r'''
resource:
  description: The role assignment as ARM returns it (empty after deletion).
  returned: always
  type: dict
  sample:
    id: /subscriptions/0000/providers/Microsoft.Authorization/roleAssignments/1b3c...
    properties:
      roleDefinitionId: /subscriptions/0000/providers/Microsoft.Authorization/roleDefinitions/58a3b984-7adf-4c20-983a-32417c86fbc8
      principalId: 11111111-1111-1111-1111-111111111111
      scope: /subscriptions/0000/resourceGroups/rg
role_definition_id:
  description: Full resource id of the role definition that was resolved from O(role).
  returned: always
  type: str
'''

import re
import uuid

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError, from_exception

# Built-in role definition ids are the same in every tenant and cloud.
BUILT_IN_ROLES = {
    'owner': '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    'contributor': 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    'reader': 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    'dicom data owner': '58a3b984-7adf-4c20-983a-32417c86fbc8',
    'dicom data reader': 'e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a',
    'storage blob data contributor': 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    'storage blob data reader': '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
}
GUID = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')


def role_definition_id(client, subscription_id, role):
    """Full role definition id for a name, GUID or id; only unknown names cost a lookup."""
    if role.lower().startswith('/subscriptions/') or role.lower().startswith('/providers/'):
        return role
    guid = role if GUID.match(role) else BUILT_IN_ROLES.get(role.lower())
    if guid is None:
        scope = '/subscriptions/%s' % subscription_id
        found = list(client.role_definitions.list(scope, filter="roleName eq '%s'" % role.replace("'", "''")))
        if not found:
            return None
        return found[0].id
    return '/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s' % (subscription_id, guid)


def _guid_of(definition_id):
    return (definition_id or '').rstrip('/').rsplit('/', 1)[-1].lower()


def main():
    module = azure_module(
        dict(
            scope=dict(type='str', required=True),
            principal_id=dict(type='str', required=True),
            principal_type=dict(type='str', default='ServicePrincipal',
                                choices=['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device']),
            role=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['authorization'],
    )
    params = module.params
    scope = params['scope'].rstrip('/')
    if not scope.lower().startswith('/subscriptions/') and scope != '/':
        invalid(module, 'scope', "'%s' is not a resource id" % scope,
                'Use a subscription, resource group or resource id such as /subscriptions/<id>/resourceGroups/<name>')
    if not GUID.match(params['principal_id']):
        invalid(module, 'principal_id', "'%s' is not an object id (GUID)" % params['principal_id'],
                "Use the principal's object id, for example the principalId of a managed identity")
    clients = clients_for(module)
    client = clients.get('authorization')
    try:
        definition = role_definition_id(client, clients.subscription_id, params['role'])
    except Exception as exc:
        fail(module, from_exception(exc, "resolve role '%s'" % params['role']))
    if definition is None:
        invalid(module, 'role', "no role named '%s' exists in this subscription" % params['role'],
                'Check the spelling (az role definition list --name ...) or give the role definition id')
    found = {}

    def read():
        # One GET: the principal's assignments; match scope and role here (ids are case-insensitive).
        query = "principalId eq '%s'" % params['principal_id']
        for assignment in client.role_assignments.list_for_scope(scope, filter=query):
            entry = assignment.serialize(keep_readonly=True)
            props = entry.get('properties') or {}
            if (props.get('scope') or '').lower().rstrip('/') == scope.lower() \
                    and _guid_of(props.get('roleDefinitionId')) == _guid_of(definition):
                found['name'] = entry.get('name')
                return entry
        return None

    resource = ArmResource(
        'role assignment', '%s for %s on %s' % (params['role'], params['principal_id'], scope),
        read=read,
        create=lambda body: client.role_assignments.create(scope, str(uuid.uuid4()), body, cls=raw_json),
        delete=lambda: client.role_assignments.delete(scope, found['name']),
    )
    desired = {'properties': {'roleDefinitionId': definition, 'principalId': params['principal_id'],
                              'principalType': params['principal_type']}}
    # The triple is the identity: an existing match is already right (assignments cannot be updated).
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
        else:
            result = engine.present(resource, {} if current else desired, current, have_current=True)
    except AzureOperationError as exc:
        fail(module, exc)
    result['role_definition_id'] = definition
    module.exit_json(**result)


if __name__ == '__main__':
    main()
