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
  - A run with nothing to change lists the scope's assignments once (one GET), also for several grants given as
    O(assignments), each matched in that one list; so a no-op converge costs one read per scope.
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
    description:
      - Object id of the user, group, service principal or managed identity.
      - Required unless O(assignments) is given.
    type: str
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
      - Required with O(principal_id).
    type: str
  assignments:
    description:
      - Several grants on the one O(scope), instead of O(principal_id) and O(role). The scope's assignments are
        read once for all of them (one GET), each is matched there, and the missing ones are created (or, with
        O(state=absent), the matching ones deleted). Every entry is checked before any call.
    type: list
    elements: dict
    suboptions:
      principal_id:
        description: Object id of the principal.
        type: str
        required: true
      role:
        description: Role definition name, GUID or id, as O(role).
        type: str
        required: true
      principal_type:
        description: Kind of principal, as O(principal_type).
        type: str
        default: ServicePrincipal
        choices: [User, Group, ServicePrincipal, ForeignGroup, Device]
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

- name: Two grants on a vault, its assignments read once
  medimaging.orthanc.azure_role_assignment:
    scope: "{{ vault.id }}"
    assignments:
      - {principal_id: "{{ app_identity_principal_id }}", role: Key Vault Secrets User}
      - {principal_id: "{{ deployer_principal_id }}", role: Key Vault Secrets Officer}
'''

RETURN = r'''
resource:
  description: The role assignment as ARM returns it (empty after deletion).
  returned: with O(principal_id)
  type: dict
  sample:
    id: /subscriptions/0000/providers/Microsoft.Authorization/roleAssignments/1b3c...
    properties:
      roleDefinitionId: /subscriptions/0000/providers/Microsoft.Authorization/roleDefinitions/58a3b984-7adf-4c20-983a-32417c86fbc8
      principalId: 11111111-1111-1111-1111-111111111111
      scope: /subscriptions/0000/resourceGroups/rg
role_definition_id:
  description: Full resource id of the role definition that was resolved from O(role).
  returned: with O(principal_id)
  type: str
assignments:
  description: One entry per O(assignments) item, in order, each with what the single form returns.
  returned: with O(assignments)
  type: list
  elements: dict
  contains:
    principal_id:
      description: The item's principal.
      type: str
    role:
      description: The item's role as given.
      type: str
    role_definition_id:
      description: The role definition resolved from it.
      type: str
    changed:
      description: Whether this grant was created or deleted (or would be, in check mode).
      type: bool
    resource:
      description: The role assignment as ARM returns it (empty after deletion).
      type: dict
'''

import re
import uuid

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import (
    HINTS, AzureOperationError, from_exception)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import GUID_PATTERN, full_match, name_problem
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


PRINCIPAL_TYPES = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device']


def check_grants(module, grants):
    """Every grant's principal and role checked before any call (the option named as the user wrote it)."""
    for index, grant in enumerate(grants):
        where = 'assignments[%d].principal_id' % index if module.params['assignments'] else 'principal_id'
        if name_problem('guid', grant['principal_id']):
            invalid(module, where, '%r does not follow the naming rule (%s)'
                    % (grant['principal_id'], name_problem('guid', grant['principal_id'])), 'Choose a name that does')
        problem = role_problem(grant['role'])
        if problem:
            invalid(module, where.replace('principal_id', 'role'), problem,
                    'Give a role name such as %s, its GUID or its role definition id' % ', '.join(sorted(BUILT_IN_ROLES)))


def scope_listing(client, scope, grants):
    """One GET for every grant: the principal's assignments when there is one principal, else the scope's."""
    principals = set(g['principal_id'].lower() for g in grants)
    query = "principalId eq '%s'" % principals.pop() if len(principals) == 1 else 'atScope()'
    listed = []

    def read():
        # Principal, scope and role are matched here (mine()), not by the service's filter, which also returns
        # inherited assignments: a lax filter must never make another one "ours".
        if not listed:
            listed.append([a.serialize(keep_readonly=True)
                           for a in client.role_assignments.list_for_scope(scope, filter=query)])
        return listed[0]
    return read


def mine(entry, scope, principal, definition):
    props = entry.get('properties') or {}
    return ((props.get('principalId') or '').lower() == principal.lower()
            and _same_scope(props.get('scope'), scope)
            and _guid_of(props.get('roleDefinitionId')) == _guid_of(definition)
            and full_match(GUID_PATTERN, entry.get('name') or ''))


def converge_grant(engine, client, scope, grant, definition, listed, state):
    """present/absent of one grant against the scope's one listing (already read)."""
    current = next((entry for entry in listed if mine(entry, scope, grant['principal_id'], definition)), None)
    resource = ArmResource(
        'role assignment', '%s for %s on %s' % (grant['role'], grant['principal_id'], scope),
        read=lambda: current,
        create=lambda body: client.role_assignments.create(scope, str(uuid.uuid4()), body, cls=raw_json),
        delete=lambda: client.role_assignments.delete(scope, current['name']),
    )
    if state == 'absent':
        return engine.absent(resource, current, have_current=True)
    desired = {'properties': {'roleDefinitionId': definition, 'principalId': grant['principal_id'],
                              'principalType': grant['principal_type']}}
    # The triple is the identity: an existing match is already right (assignments cannot be updated).
    return engine.present(resource, {} if current else desired, current, have_current=True)


def main():
    module = azure_module(
        dict(
            scope=dict(type='str', required=True),
            principal_id=dict(type='str'),
            principal_type=dict(type='str', default='ServicePrincipal', choices=PRINCIPAL_TYPES),
            role=dict(type='str'),
            assignments=dict(type='list', elements='dict', options=dict(
                principal_id=dict(type='str', required=True),
                role=dict(type='str', required=True),
                principal_type=dict(type='str', default='ServicePrincipal', choices=PRINCIPAL_TYPES))),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['authorization'],
        mutually_exclusive=[('assignments', 'principal_id'), ('assignments', 'role')],
        required_one_of=[('assignments', 'principal_id')],
        required_together=[('principal_id', 'role')],
    )
    params = module.params
    scope = params['scope']
    problem = scope_problem(scope)
    if problem:
        invalid(module, 'scope', '%r is not a resource id the module accepts: %s' % (scope, problem),
                'Use one of ' + SHAPES)
    grants = params['assignments'] or [dict(principal_id=params['principal_id'], role=params['role'],
                                            principal_type=params['principal_type'])]
    if params['assignments'] == []:
        invalid(module, 'assignments', 'it is empty', 'Give at least one grant, or use principal_id and role')
    check_grants(module, grants)
    clients = clients_for(module)
    client = clients.get('authorization')
    definitions = {}
    for index, grant in enumerate(grants):
        if grant['role'] not in definitions:
            try:
                definitions[grant['role']] = role_definition_id(client, clients.subscription_id, grant['role'])
            except Exception as exc:
                fail(module, from_exception(exc, "resolve role '%s'" % grant['role']))
        if definitions[grant['role']] is None:
            where = 'role' if not params['assignments'] else 'assignments[%d].role' % index
            invalid(module, where, "no role named %r exists in this subscription" % grant['role'],
                    'Check the spelling; built-in names: %s (or give the role definition id)'
                    % ', '.join(sorted(BUILT_IN_ROLES)))
    listing = ArmResource('role assignments', 'at %s' % scope, read=scope_listing(client, scope, grants))
    engine = engine_for(module)
    try:
        listed = engine.current(listing)
        if listed is None:
            listed = []
            if listing.missing is not None and params['state'] == 'present':
                # The list itself answered 404: the scope (its subscription, group or resource) does not exist.
                # Only then: an identity allowed on the scope alone may not read the group above it.
                missing = listing.missing
                raise AzureOperationError(
                    'create role assignment on %s' % scope, code=missing.code, status=missing.status,
                    message=missing.arm_message,
                    hint=None if missing.code in HINTS else 'create the resource the scope names first, or fix scope')
        results = [converge_grant(engine, client, scope, grant, definitions[grant['role']], listed, params['state'])
                   for grant in grants]
    except AzureOperationError as exc:
        fail(module, exc)
    if not params['assignments']:
        result = results[0]
        result['role_definition_id'] = definitions[grants[0]['role']]
        module.exit_json(**result)
    module.exit_json(
        changed=any(r['changed'] for r in results),
        diff={'before': [r['diff']['before'] for r in results if r['changed']],
              'after': [r['diff']['after'] for r in results if r['changed']]},
        assignments=[dict(principal_id=g['principal_id'], role=g['role'], role_definition_id=definitions[g['role']],
                          changed=r['changed'], resource=r['resource']) for g, r in zip(grants, results)])


if __name__ == '__main__':
    main()
