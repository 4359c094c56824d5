#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_arc_cluster_extension
short_description: Install, update or remove a cluster extension on an Arc-connected or AKS cluster
version_added: 0.1.0
description:
  - A Microsoft.KubernetesConfiguration/extensions resource. Azure installs the extension's Helm release on the
    cluster through the Arc agents (or AKS). Examples are Azure Monitor (C(Microsoft.AzureMonitor.Containers)), Azure
    Policy (C(Microsoft.PolicyInsights)), the Key Vault secrets provider
    (C(Microsoft.AzureKeyVaultSecretsProvider)) and Flux (C(microsoft.flux)).
  - Compared by what is set. O(configuration_protected_settings) are never returned by Azure, so they are sent when
    the extension is created or updated, and are not compared. Set O(update_protected_settings) to send them on
    every run, to rotate a key for example. That run always reports a change.
  - The extension type and its scope cannot change; the module says so before any write.
options:
  name:
    description: Extension name, 1-253 lower-case letters, digits, hyphens and dots, starting and ending with a letter or digit.
    type: str
    required: true
  extension_type:
    description: The extension's type as Azure registers it (compared without case). Required to create; cannot change.
    type: str
  release_train:
    description: Release train the extension follows, for example V(Stable) or V(Preview).
    type: str
  version:
    description: Version to pin. Needs O(auto_upgrade_minor_version=false).
    type: str
  auto_upgrade_minor_version:
    description: Let Azure upgrade minor versions.
    type: bool
  release_namespace:
    description: Cluster-scoped extension, installed in this namespace. Exclusive with O(target_namespace).
    type: str
  target_namespace:
    description: Namespace-scoped extension, installed in this namespace. Exclusive with O(release_namespace).
    type: str
  configuration_settings:
    description: Settings of the extension (its Helm values as C(key.path=value) strings). Non-string scalars are sent as strings.
    type: dict
  configuration_protected_settings:
    description: Secret settings (keys, passwords). Never logged, never returned by Azure, not compared.
    type: dict
  update_protected_settings:
    description: Send O(configuration_protected_settings) on every run (they cannot be compared).
    type: bool
    default: false
  state:
    description: Whether the extension exists.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
  - medimaging.orthanc.azure_arc_cluster
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Azure Policy for Kubernetes on the hospital's cluster
  medimaging.orthanc.azure_arc_cluster_extension:
    resource_group: rg-imaging-onprem
    cluster_name: ocp-radiology
    name: azurepolicy
    extension_type: Microsoft.PolicyInsights
    release_namespace: kube-system

- name: Key Vault secrets provider with rotation
  medimaging.orthanc.azure_arc_cluster_extension:
    resource_group: rg-imaging-onprem
    cluster_name: ocp-radiology
    name: akvsecretsprovider
    extension_type: Microsoft.AzureKeyVaultSecretsProvider
    release_train: Stable
    configuration_settings:
      secrets-store-csi-driver.enableSecretRotation: true
      secrets-store-csi-driver.rotationPollInterval: 2m

- name: Container insights to a Log Analytics workspace
  medimaging.orthanc.azure_arc_cluster_extension:
    resource_group: rg-imaging-onprem
    cluster_name: ocp-radiology
    name: azuremonitor-containers
    extension_type: Microsoft.AzureMonitor.Containers
    configuration_settings:
      logAnalyticsWorkspaceResourceID: "{{ workspace_id }}"
    configuration_protected_settings:
      omsagent.secret.key: "{{ workspace_key }}"
'''

RETURN = r'''
resource:
  description: The extension as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the extension (empty when absent or in check mode before creation).
  returned: always
  type: str
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_arc import (
    CLUSTER_OPTIONS, cluster_args, cluster_parent, string_settings)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, converge, invalid)

NAME = re.compile(r'[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\Z')
PROTECTED = 'properties.configurationProtectedSettings'


def check_input(module):
    params = module.params
    if not NAME.match(params['name']):
        invalid(module, 'name', '%r: 1-253 lower-case letters, digits, hyphens and dots, starting and ending with a '
                'letter or digit' % params['name'], 'Choose a name that does')
    if params['release_namespace'] and params['target_namespace']:
        invalid(module, 'target_namespace', 'an extension is either cluster-scoped (release_namespace) or '
                'namespace-scoped (target_namespace)', 'Set one of them')
    if params['version'] and params['auto_upgrade_minor_version'] is not False:
        invalid(module, 'version', 'a pinned version needs auto_upgrade_minor_version=false',
                'Set auto_upgrade_minor_version: false, or drop version')
    for option in ('configuration_settings', 'configuration_protected_settings'):
        params[option] = string_settings(module, option, params[option])
    if params['state'] == 'present' and not params['extension_type']:
        invalid(module, 'extension_type', 'it is required with state=present', 'Set extension_type')


def desired_body(params):
    scope = None
    if params['release_namespace']:
        scope = {'cluster': {'releaseNamespace': params['release_namespace']}}
    elif params['target_namespace']:
        scope = {'namespace': {'targetNamespace': params['target_namespace']}}
    return {'properties': {
        'extensionType': params['extension_type'],
        'releaseTrain': params['release_train'],
        'version': params['version'],
        'autoUpgradeMinorVersion': params['auto_upgrade_minor_version'],
        'scope': scope,
        'configurationSettings': params['configuration_settings'],
    }}


def main():
    spec = dict(CLUSTER_OPTIONS)
    spec.update(
        name=dict(type='str', required=True),
        extension_type=dict(type='str'),
        release_train=dict(type='str'),
        version=dict(type='str'),
        auto_upgrade_minor_version=dict(type='bool'),
        release_namespace=dict(type='str'),
        target_namespace=dict(type='str'),
        configuration_settings=dict(type='dict'),
        configuration_protected_settings=dict(type='dict', no_log=True),
        update_protected_settings=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module = azure_module(spec, sdks=['k8s_extensions', 'hybridkubernetes'])
    check_input(module)
    params = module.params
    clients = clients_for(module)
    extensions = clients.get('k8s_extensions').extensions
    where = cluster_args(params)
    name = params['name']
    protected = params['configuration_protected_settings']

    def with_protected(body):
        if protected:
            body.setdefault('properties', {})['configurationProtectedSettings'] = protected
        return body

    resource = ArmResource(
        'cluster extension', name,
        read=lambda: extensions.get(*(where + (name,)), cls=raw_json),
        create=lambda body: extensions.begin_create(*(where + (name, body)), cls=raw_json),
        update=lambda body: extensions.begin_update(*(where + (name, with_protected(body))), cls=raw_json),
        delete=lambda: extensions.begin_delete(*(where + (name,))),
        update_mode='patch',
        read_only=['properties.currentVersion', 'properties.statuses', 'properties.errorInfo',
                   'properties.customLocationSettings', 'properties.packageUri', 'properties.isSystemExtension',
                   'properties.extensionState', 'properties.aksAssignedIdentity.principalId',
                   'properties.aksAssignedIdentity.tenantId', PROTECTED, 'identity.principalId', 'identity.tenantId'],
        immutable=['properties.extensionType', 'properties.scope'],
        case_insensitive=['properties.extensionType'],
        create_only=['properties.extensionType', 'properties.scope'],
        write_only={PROTECTED: protected},
        parent=cluster_parent(clients, params),
    )
    desired = desired_body(params)
    if params['update_protected_settings'] and protected:
        # Azure never returns them: a marker the server cannot hold makes the engine send an update.
        desired['properties']['configurationProtectedSettings'] = dict((k, '*') for k in protected)
        resource.read_only = tuple(p for p in resource.read_only if p != PROTECTED)
    result = converge(module, resource, desired)
    result['diff'] = hide_protected(result['diff'])
    found = result['resource'] or {}
    module.exit_json(id=found.get('id') or '', **result)


def hide_protected(diff):
    for side in ('before', 'after'):
        settings = (diff.get(side) or {}).get('properties', {}).get('configurationProtectedSettings')
        if settings:
            diff[side]['properties']['configurationProtectedSettings'] = dict((k, 'hidden') for k in settings)
    return diff


if __name__ == '__main__':
    main()
