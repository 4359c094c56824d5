# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue shared by the Azure modules: argument spec, SDK check, clients, engine, error reporting.

Deliberately small (composition, not a base class): a module builds its ArmResource and desired body,
and calls run() to converge it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import (
    AZURE_AUTH_ARGUMENT_SPEC, AuthConfigError, resolve_auth)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_clients import AzureClients, missing_sdk
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import DesiredState
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import name_problem

# Tests inject fake clients here (AzureClients built on a fake transport); modules never set it.
CLIENTS_FACTORY = None


def azure_module(argument_spec, sdks, **kwargs):
    """AnsibleModule with the common auth options, check mode on, and the SDKs verified."""
    spec = dict(AZURE_AUTH_ARGUMENT_SPEC)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **kwargs)
    # 'resource': every module reads its resource group before a create (azure_parents).
    missing = missing_sdk(*(list(sdks) + ['resource']))
    if missing:
        module.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])
    # Options every module spells the same way are checked here, before any call.
    if 'resource_group' in argument_spec:
        check_name(module, 'resource_group', 'resource_group')
    if 'location' in argument_spec:
        check_name(module, 'location', 'location')
    return module


def clients_for(module):
    try:
        settings = resolve_auth(module.params)
    except AuthConfigError as exc:
        module.fail_json(msg='Azure authentication is not configured: %s' % exc)
    # From the option, a credential file or AZURE_SUBSCRIPTION_ID: it becomes a URL path segment.
    if name_problem('guid', settings.subscription_id):
        invalid(module, 'subscription_id', '%r is not a subscription id' % settings.subscription_id,
                'Use the GUID of the subscription (az account show --query id)')
    if CLIENTS_FACTORY is not None:
        return CLIENTS_FACTORY(settings)
    return AzureClients(settings)


def engine_for(module):
    return DesiredState(check_mode=module.check_mode, wait=module.params['wait'],
                        wait_timeout=module.params['wait_timeout'])


def converge(module, resource, desired):
    """present/absent by module.params['state']; returns the engine result or fails the module."""
    engine = engine_for(module)
    try:
        if module.params.get('state', 'present') == 'absent':
            return engine.absent(resource)
        return engine.present(resource, desired)
    except AzureOperationError as exc:
        fail(module, exc)


def fail(module, exc):
    module.fail_json(msg=str(exc), **exc.details())


def invalid(module, option, problem, fix):
    """Fail before any call to Azure, naming the option."""
    module.fail_json(msg='Invalid %s: %s. %s.' % (option, problem, fix.rstrip('.')))


def check_name(module, option, kind):
    """Fail before any call when module.params[option] breaks the Azure naming rule for kind."""
    value = module.params.get(option)
    problem = name_problem(kind, value)
    if value is not None and problem:
        invalid(module, option, '%r does not follow the naming rule (%s)' % (value, problem),
                'Choose a name that does')
