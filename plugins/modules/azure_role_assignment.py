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
  - The triple is matched here, not trusted to the service's filter, so O(state=absent) deletes only an assignment of
    this principal, with this role, made at exactly this scope (not one inherited from above).
  - A run with nothing to change lists the principal's assignments once (one GET).
  - Built-in roles commonly used with Orthanc are known by name without a lookup; any other role name costs one
    more GET to resolve it.
options:
  scope:
    description:
      - Resource id the role applies to, one of C(/subscriptions/{id}), C(/subscriptions/{id}/resourceGroups/{group})
        or C(/subscriptions/{id}/resourceGroups/{group}/providers/{Namespace}/{type}/{name}).
      - Checked before any call; empty, C(.) and C(..) segments, a trailing C(/), and other shapes (management
        groups, the root C(/)) are refused, because the HTTP stack would normalise such a path into a wider scope.
      - With O(state=present) the scope must exist; with O(state=absent) a missing scope holds no assignment.
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
      - An empty role is refused. A name that is neither built in nor found in the subscription fails and lists
        the built-in names.
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
    azure_module, check_name, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import (
    HINTS, AzureOperationError, from_exception)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import GUID_PATTERN, full_match
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import SHAPES, scope_problem

# Built-in role definition ids are the same in every tenant and cloud.
BUILT_IN_ROLES = {
    'Owner': '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    'Contributor': 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    'Reader': 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    'DICOM Data Owner': '58a3b984-7adf-4c20-983a-32417c86fbc8',
    'DICOM Data Reader': 'e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a',
    'Storage Blob Data Contributor': 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    'Storage Blob Data Reader': '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
}
BY_LOWER_NAME = dict((name.lower(), guid) for name, guid in BUILT_IN_ROLES.items())
DEFINITION_ID = r'(/subscriptions/%s)?/providers/Microsoft\.Authorization/roleDefinitions/%s' % (
    GUID_PATTERN, GUID_PATTERN)
ROLE_NAME = r'[^\x00-\x1f\x7f]*\S'  # printable, not blank, no trailing whitespace or newline


def role_problem(role):
    """None when role can be resolved without guessing, else what is wrong."""
    if not role or not role.strip():
        return 'it is empty'
    if role.startswith('/'):
        if not full_match(DEFINITION_ID, role, re.IGNORECASE):
            return ('%r is not a role definition id '
                    '(/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid})' % role)
        return None
    if not full_match(ROLE_NAME, role) or role != role.strip():
        return '%r has leading or trailing whitespace or control characters' % role
    return None


def role_definition_id(client, subscription_id, role):
    """Full role definition id for a name, GUID or id; only names that are not built in cost a lookup."""
    if role.startswith('/'):
        return role
    guid = role if full_match(GUID_PATTERN, role) else BY_LOWER_NAME.get(role.lower())
    if guid is None:
        scope = '/subscriptions/%s' % subscription_id
        found = client.role_definitions.list(scope, filter="roleName eq '%s'" % role.replace("'", "''"))
        # The filter is the service's; the name is checked here, so an ignored filter cannot pick a role.
        exact = [d for d in found if (getattr(d, 'role_name', None) or '').lower() == role.lower()]
        return exact[0].id if exact else None
    return '/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s' % (subscription_id, guid)


def _guid_of(definition_id):
    return (definition_id or '').rstrip('/').rsplit('/', 1)[-1].lower()


def _same_scope(one, other):
    return (one or '').lower() == (other or '').lower()


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
    scope = params['scope']
    problem = scope_problem(scope)
    if problem:
        invalid(module, 'scope', '%r is not a resource id the module accepts: %s' % (scope, problem),
                'Use one of ' + SHAPES)
    check_name(module, 'principal_id', 'guid')
    problem = role_problem(params['role'])
    if problem:
        invalid(module, 'role', problem, 'Give a role name such as %s, its GUID or its role definition id'
                % ', '.join(sorted(BUILT_IN_ROLES)))
    clients = clients_for(module)
    client = clients.get('authorization')
    try:
        definition = role_definition_id(client, clients.subscription_id, params['role'])
    except Exception as exc:
        fail(module, from_exception(exc, "resolve role '%s'" % params['role']))
    if definition is None:
        invalid(module, 'role', "no role named %r exists in this subscription" % params['role'],
                'Check the spelling; built-in names: %s (or give the role definition id)'
                % ', '.join(sorted(BUILT_IN_ROLES)))
    principal = params['principal_id'].lower()
    found = {}

    def mine(entry):
        props = entry.get('properties') or {}
        return ((props.get('principalId') or '').lower() == principal
                and _same_scope(props.get('scope'), scope)
                and _guid_of(props.get('roleDefinitionId')) == _guid_of(definition)
                and full_match(GUID_PATTERN, entry.get('name') or ''))

    def read():
        # One GET: the principal's assignments. Principal, scope and role are matched here: the service's
        # filter also returns inherited assignments, and a lax filter must never make another one "ours".
        query = "principalId eq '%s'" % principal
        for assignment in client.role_assignments.list_for_scope(scope, filter=query):
            entry = assignment.serialize(keep_readonly=True)
            if mine(entry):
                found.update(entry)
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
        if current is None and resource.missing is not None and params['state'] == 'present':
            # The list itself answered 404: the scope (its subscription, group or resource) does not exist.
            # Only then: an identity allowed on the scope alone may not read the group above it.
            missing = resource.missing
            raise AzureOperationError(
                'create %s' % resource.label(), code=missing.code, status=missing.status, message=missing.arm_message,
                hint=None if missing.code in HINTS else 'create the resource the scope names first, or fix scope')
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
