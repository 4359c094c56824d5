#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_storage_management_policy
short_description: Set the lifecycle management policy of an Azure storage account
version_added: 0.1.0
description:
  - Tiering rules that move blobs Hot -> Cool -> Cold -> Archive and delete them after given days.
  - The account has one policy; when set, it holds exactly the given rules.
  - Days must grow along the way (cool < cold < archive < delete), checked before any call.
options:
  rules:
    description: Lifecycle rules.
    type: list
    elements: dict
    suboptions:
      name:
        description: Rule name (letters and digits).
        type: str
        required: true
      enabled:
        description: Whether the rule runs.
        type: bool
        default: true
      prefixes:
        description: Blob name prefixes (starting with the container name) the rule applies to; empty for all.
        type: list
        elements: str
        default: []
      cool_after_days:
        description: Move to Cool this many days after the last modification.
        type: int
      cold_after_days:
        description: Move to Cold this many days after the last modification.
        type: int
      archive_after_days:
        description: Move to Archive this many days after the last modification (reading needs rehydration).
        type: int
      delete_after_days:
        description: Delete this many days after the last modification.
        type: int
  state:
    description: Whether the policy exists.
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
- name: Archive studies after a year
  medimaging.orthanc.azure_storage_management_policy:
    resource_group: rg-imaging-prod
    account: stimagingarchive
    rules:
      - name: studies
        prefixes: [studies/]
        cool_after_days: 30
        cold_after_days: 90
        archive_after_days: 365
'''

RETURN = r'''
resource:
  description: The policy as ARM returns it (empty after deletion).
  returned: always
  type: dict
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import storage_account_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import name_problem

STEPS = (('cool_after_days', 'tierToCool'), ('cold_after_days', 'tierToCold'),
         ('archive_after_days', 'tierToArchive'), ('delete_after_days', 'delete'))


def rule_problem(rule):
    """None, or what is wrong with one rule (names the option)."""
    if name_problem('management_policy_rule', rule['name']):
        return 'rules[%r].name must be %s' % (rule['name'], name_problem('management_policy_rule', rule['name']))
    set_steps = [(option, rule[option]) for option, dummy in STEPS if rule.get(option) is not None]
    if not set_steps:
        return 'rules[%s] has no action: set at least one of %s' % (rule['name'], ', '.join(o for o, d in STEPS))
    for option, days in set_steps:
        if days < 0:
            return 'rules[%s].%s is negative' % (rule['name'], option)
    for (first, first_days), (second, second_days) in zip(set_steps, set_steps[1:]):
        if second_days <= first_days:
            return 'rules[%s]: %s (%s) must be greater than %s (%s)' % (
                rule['name'], second, second_days, first, first_days)
    return None


def rule_body(rule):
    base_blob = dict((action, {'daysAfterModificationGreaterThan': rule[option]})
                     for option, action in STEPS if rule.get(option) is not None)
    return {
        'name': rule['name'], 'enabled': rule['enabled'], 'type': 'Lifecycle',
        'definition': {'filters': {'blobTypes': ['blockBlob'], 'prefixMatch': sorted(rule['prefixes'] or [])},
                       'actions': {'baseBlob': base_blob}},
    }


def rule_options(arm_rule):
    """An ARM rule read back into this module's options, so both sides compare in one canonical form."""
    definition = arm_rule.get('definition') or {}
    base_blob = (definition.get('actions') or {}).get('baseBlob') or {}
    options = {'name': arm_rule.get('name'), 'enabled': arm_rule.get('enabled', True),
               'prefixes': sorted((definition.get('filters') or {}).get('prefixMatch') or [])}
    for option, action in STEPS:
        options[option] = (base_blob.get(action) or {}).get('daysAfterModificationGreaterThan')
    return options


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            account=dict(type='str', required=True),
            rules=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                enabled=dict(type='bool', default=True),
                prefixes=dict(type='list', elements='str', default=[]),
                cool_after_days=dict(type='int'),
                cold_after_days=dict(type='int'),
                archive_after_days=dict(type='int'),
                delete_after_days=dict(type='int'),
            )),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['storage'],
        required_if=[('state', 'present', ('rules',))],
    )
    check_name(module, 'account', 'storage_account')
    params = module.params
    for rule in params['rules'] or []:
        problem = rule_problem(rule)
        if problem:
            invalid(module, 'rules', problem, 'Fix that rule: tiers go cool < cold < archive < delete')
    clients = clients_for(module)
    policies = clients.get('storage').management_policies
    group, account = params['resource_group'], params['account']

    resource = ArmResource(
        'lifecycle policy of storage account', account,
        read=lambda: policies.get(group, account, 'default', cls=raw_json),
        create=lambda body: policies.create_or_update(group, account, 'default', body, cls=raw_json),
        delete=lambda: policies.delete(group, account, 'default'),
        read_only=['properties.lastModifiedTime'],
        exact=['properties.policy.rules'],
        parent=storage_account_parent(clients, group, account),
    )
    desired = {'properties': {'policy': {'rules': [rule_body(r) for r in params['rules'] or []]}}}
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
        else:
            seen = current
            if current is not None:
                rules = ((current.get('properties') or {}).get('policy') or {}).get('rules') or []
                seen = dict(current, properties={'policy': {'rules': [rule_body(rule_options(r)) for r in rules]}})
            result = engine.present(resource, desired, seen, have_current=True)
    except AzureOperationError as exc:
        fail(module, exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
