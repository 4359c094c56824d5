#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_blob_container
short_description: Create, update or delete a private blob container, with opt-in WORM protection
version_added: 0.1.0
description:
  - The container is always private (no anonymous access).
  - Opt-in write-once-read-many (WORM) protection for archives with retention duties
    (O(immutability_days), O(immutability_locked), O(legal_hold_tags)).
    B(WORM blocks deletions and overwrites) of every blob in the container for the retention period,
    including a patient's erasure request and your own clean-up; a locked policy can never be shortened or removed,
    and the account cannot be deleted while it holds protected blobs.
  - Everything is compared from the one GET of the container.
options:
  name:
    description: Container name, 3-63 lower-case letters, digits and single hyphens.
    type: str
    required: true
  metadata:
    description: Container metadata. When set, the container carries exactly these pairs.
    type: dict
  immutability_days:
    description: Time-based retention; blobs cannot be changed or deleted for this many days after creation (1-146000).
    type: int
  allow_protected_append_writes:
    description: Let append blobs grow under the retention policy (for logs); blobs still cannot be changed.
    type: bool
  immutability_locked:
    description:
      - Lock the retention policy. B(Irreversible); compliance regimes (SEC 17a-4) need it.
      - After locking, O(immutability_days) can only be raised.
    type: bool
    default: false
  legal_hold_tags:
    description: Legal hold tags; while any tag is set no blob can be changed or deleted. An empty list clears them.
    type: list
    elements: str
  state:
    description: Whether the container exists. V(absent) deletes it with its blobs (refused by Azure under WORM).
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
  - medimaging.orthanc.azure_storage_account_parent
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Private container for archived studies
  medimaging.orthanc.azure_blob_container:
    resource_group: rg-imaging-prod
    account: stimagingarchive
    name: studies

- name: Ten-year retention (unlocked, so it can still be corrected)
  medimaging.orthanc.azure_blob_container:
    resource_group: rg-imaging-prod
    account: stimagingarchive
    name: studies
    immutability_days: 3650
'''

RETURN = r'''
resource:
  description: The container as ARM returns it (empty after deletion).
  returned: always
  type: dict
  sample:
    name: studies
    properties:
      publicAccess: None
      hasImmutabilityPolicy: false
      hasLegalHold: false
'''

import inspect

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import storage_account_parent

WORM_WARNING = ('WORM protection is on for container %s: blobs cannot be changed or deleted until their '
                'retention ends (this includes erasure requests and clean-up).')


def _policy(current):
    props = (current or {}).get('properties') or {}
    policy = props.get('immutabilityPolicy') or {}
    return policy.get('properties') or {}, policy.get('etag')


def _hold_tags(current):
    hold = ((current or {}).get('properties') or {}).get('legalHold') or {}
    return sorted(t.get('tag', '').lower() for t in hold.get('tags') or [])


def _etag_kwargs(method, etag):
    """azure-mgmt-storage >= 22 takes etag + match_condition, older ones if_match."""
    if 'match_condition' in inspect.signature(method).parameters:
        from azure.core import MatchConditions
        return {'etag': etag, 'match_condition': MatchConditions.IfNotModified}
    return {'if_match': etag}


def worm_plan(params, current):
    """[(what, before, after, call-name)] of the WORM changes needed; fails nothing, pure."""
    steps = []
    policy, dummy = _policy(current)
    days, locked = params['immutability_days'], params['immutability_locked']
    if days is not None:
        have_days = policy.get('immutabilityPeriodSinceCreationInDays')
        want = {'immutabilityPeriodSinceCreationInDays': days}
        if params['allow_protected_append_writes'] is not None:
            want['allowProtectedAppendWrites'] = params['allow_protected_append_writes']
        if have_days != days or any(policy.get(k) != v for k, v in want.items()):
            steps.append(('immutabilityPolicy', dict((k, policy.get(k)) for k in want), want, 'policy'))
        if locked and policy.get('state') != 'Locked':
            steps.append(('immutabilityPolicy.state', policy.get('state'), 'Locked', 'lock'))
    if params['legal_hold_tags'] is not None:
        have, want = _hold_tags(current), sorted(t.lower() for t in params['legal_hold_tags'])
        if have != want:
            steps.append(('legalHold.tags', have, want, 'hold'))
    return steps


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            account=dict(type='str', required=True),
            name=dict(type='str', required=True),
            metadata=dict(type='dict'),
            immutability_days=dict(type='int'),
            allow_protected_append_writes=dict(type='bool'),
            immutability_locked=dict(type='bool', default=False),
            legal_hold_tags=dict(type='list', elements='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['storage'],
    )
    check_name(module, 'account', 'storage_account')
    check_name(module, 'name', 'blob_container')
    params = module.params
    if params['immutability_days'] is not None and not 1 <= params['immutability_days'] <= 146000:
        invalid(module, 'immutability_days', '%s is outside 1..146000' % params['immutability_days'],
                'Give the retention in days')
    if params['immutability_locked'] and params['immutability_days'] is None:
        invalid(module, 'immutability_locked', 'locking needs the retention it locks',
                'Set immutability_days as well')
    for tag in params['legal_hold_tags'] or []:
        if not (3 <= len(tag) <= 23 and tag.isalnum()):
            invalid(module, 'legal_hold_tags', "'%s' is not 3-23 letters and digits" % tag, 'Rename the tag')
    clients = clients_for(module)
    containers = clients.get('storage').blob_containers
    group, account, name = params['resource_group'], params['account'], params['name']

    resource = ArmResource(
        'blob container', '%s/%s' % (account, name),
        read=lambda: containers.get(group, account, name, cls=raw_json),
        create=lambda body: containers.create(group, account, name, body, cls=raw_json),
        update=lambda body: containers.update(group, account, name, body, cls=raw_json),
        delete=lambda: containers.delete(group, account, name),
        update_mode='patch',
        read_only=['properties.lastModifiedTime', 'properties.leaseStatus', 'properties.leaseState',
                   'properties.immutabilityPolicy', 'properties.legalHold', 'properties.hasLegalHold',
                   'properties.hasImmutabilityPolicy'],
        exact=['properties.metadata'],
        parent=storage_account_parent(clients, group, account),
    )
    desired = {'properties': {'publicAccess': 'None', 'metadata': params['metadata']}}
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            module.exit_json(**engine.absent(resource, current, have_current=True))
        result = engine.present(resource, desired, current, have_current=True)
        steps = worm_plan(params, current)
        if steps:
            result['changed'] = True
            for path, before, after, dummy in steps:
                result['diff']['before'].setdefault('properties', {})[path] = before
                result['diff']['after'].setdefault('properties', {})[path] = after
            if not module.check_mode:
                apply_worm(engine, containers, params, steps, resource.label())
                result['resource'] = engine.current(resource) or result['resource']
        if params['immutability_days'] or params['legal_hold_tags']:
            module.warn(WORM_WARNING % name)
    except AzureOperationError as exc:
        fail(module, exc)
    module.exit_json(**result)


def apply_worm(engine, containers, params, steps, label):
    group, account, name = params['resource_group'], params['account'], params['name']
    for path, before, after, call in steps:
        if call == 'policy':
            engine.write(lambda body: containers.create_or_update_immutability_policy(
                group, account, name, body, cls=raw_json), {'properties': after}, 'set the retention of %s' % label)
        elif call == 'lock':
            fresh = containers.get_immutability_policy(group, account, name, cls=raw_json)
            method = containers.lock_immutability_policy
            engine.write(lambda dummy: method(group, account, name, cls=raw_json,
                                              **_etag_kwargs(method, fresh.get('etag'))),
                         None, 'lock the retention of %s' % label)
        elif call == 'hold':
            added = [t for t in after if t not in before]
            removed = [t for t in before if t not in after]
            if added:
                engine.write(lambda body: containers.set_legal_hold(group, account, name, body, cls=raw_json),
                             {'tags': added}, 'set legal hold tags on %s' % label)
            if removed:
                engine.write(lambda body: containers.clear_legal_hold(group, account, name, body, cls=raw_json),
                             {'tags': removed}, 'clear legal hold tags on %s' % label)


if __name__ == '__main__':
    main()
