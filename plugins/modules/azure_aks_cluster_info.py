#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_aks_cluster_info
short_description: Read an AKS cluster and its user kubeconfig
version_added: 0.1.0
description:
  - Reads a managed cluster (its OIDC issuer URL, API server name) and, when asked, the user kubeconfig through
    C(listClusterUserCredential), the credentials C(az aks get-credentials) fetches.
  - The kubeconfig holds credentials. The safe path is O(kubeconfig_path), which writes it to a file only the
    owner can read and never puts it in the result. O(return_kubeconfig) puts it in the result instead; set
    C(no_log) on that task.
  - In check mode the cluster is read but no file is written.
options:
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  name:
    description: Cluster name.
    type: str
    required: true
  kubeconfig_path:
    description: Write the user kubeconfig to this file (mode 0600; its folder must exist).
    type: path
  return_kubeconfig:
    description: Return the user kubeconfig as C(kubeconfig). Use C(no_log) on the task.
    type: bool
    default: false
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Kubeconfig for the chart installation
  medimaging.orthanc.azure_aks_cluster_info:
    resource_group: rg-imaging-prod
    name: aks-pacs
    kubeconfig_path: "{{ playbook_dir }}/.kube/aks-pacs"
  register: aks_info

- name: Install the chart with it
  kubernetes.core.helm:
    kubeconfig: "{{ aks_info.kubeconfig_path }}"
    name: orthanc
    chart_ref: medimaging/orthanc
    release_namespace: pacs
'''

RETURN = r'''
exists:
  description: Whether the cluster exists.
  returned: always
  type: bool
resource:
  description: The cluster as ARM returns it (empty when it does not exist).
  returned: always
  type: dict
oidc_issuer_url:
  description: The cluster's service-account token issuer.
  returned: always
  type: str
fqdn:
  description: API server name (the private one for a private cluster).
  returned: always
  type: str
kubeconfig_path:
  description: Where the kubeconfig was written (empty when O(kubeconfig_path) is not set).
  returned: always
  type: str
kubeconfig:
  description: The user kubeconfig (only with O(return_kubeconfig)).
  returned: when return_kubeconfig
  type: str
'''

import base64
import os

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import DesiredState, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError, from_exception
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import azure_module, clients_for, fail
from ansible_collections.medimaging.orthanc.plugins.module_utils.private_file import read_text, write_atomically


def user_kubeconfig(clusters, group, name):
    try:
        answer = clusters.list_cluster_user_credentials(group, name, cls=raw_json)
    except Exception as exc:
        raise from_exception(exc, "read the user kubeconfig of AKS cluster '%s'" % name)
    configs = (answer or {}).get('kubeconfigs') or []
    if not configs:
        raise AzureOperationError("read the user kubeconfig of AKS cluster '%s'" % name, code='NoKubeconfig',
                                  message='Azure answered without a kubeconfig')
    return base64.b64decode(configs[0]['value']).decode('utf-8')


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            kubeconfig_path=dict(type='path'),
            return_kubeconfig=dict(type='bool', default=False),
        ),
        sdks=['containerservice'],
    )
    params = module.params
    clients = clients_for(module)
    clusters = clients.get('containerservice').managed_clusters
    group, name = params['resource_group'], params['name']
    resource = ArmResource('AKS cluster', name, read=lambda: clusters.get(group, name, cls=raw_json))
    result = {'changed': False, 'exists': False, 'resource': {}, 'oidc_issuer_url': '', 'fqdn': '',
              'kubeconfig_path': ''}
    try:
        found = DesiredState(check_mode=True).current(resource)
        if found is not None:
            props = found.get('properties') or {}
            result.update(exists=True, resource=found, fqdn=props.get('privateFQDN') or props.get('fqdn') or '',
                          oidc_issuer_url=(props.get('oidcIssuerProfile') or {}).get('issuerURL') or '')
            if params['kubeconfig_path'] or params['return_kubeconfig']:
                text = user_kubeconfig(clusters, group, name)
                if params['return_kubeconfig']:
                    result['kubeconfig'] = text
                if params['kubeconfig_path']:
                    result['changed'] = write_kubeconfig(module, params['kubeconfig_path'], text)
                    result['kubeconfig_path'] = params['kubeconfig_path']
    except AzureOperationError as exc:
        fail(module, exc)
    module.exit_json(**result)


def write_kubeconfig(module, path, text):
    """Write the file (0600) when its content or mode differs; True when it did (or would, in check mode)."""
    same = read_text(path) == text and (os.stat(path).st_mode & 0o777) == 0o600
    if same:
        return False
    if not module.check_mode:
        old_umask = os.umask(0o077)  # the temporary file is private from its first byte
        try:
            write_atomically(module, path, text)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
    return True


if __name__ == '__main__':
    main()
