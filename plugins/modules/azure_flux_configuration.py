#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_flux_configuration
short_description: GitOps with Flux on an Arc-connected or AKS cluster
version_added: 0.1.0
description:
  - A Microsoft.KubernetesConfiguration/fluxConfigurations resource. Flux in the cluster pulls a Git repository
    and applies the manifests under each kustomization's path. The C(microsoft.flux) extension must be installed
    first (M(medimaging.orthanc.azure_arc_cluster_extension)); Azure refuses a configuration without it.
  - Compared by what is set. The HTTPS key is never returned by Azure, so it is sent with every write and is not
    compared. O(scope) and O(namespace) cannot change; the module says so before any write.
options:
  name:
    description: Configuration name, 1-30 lower-case letters, digits and hyphens, starting and ending with a letter or digit.
    type: str
    required: true
  namespace:
    description: Namespace of Flux's own objects for this configuration (cannot change).
    type: str
    default: flux-system
  scope:
    description: V(cluster) applies anywhere in the cluster, V(namespace) only in O(namespace) (cannot change).
    type: str
    default: cluster
    choices: [cluster, namespace]
  url:
    description: Repository URL (C(https://), C(http://), C(ssh://) or C(git@host:path)). Required with O(state=present).
    type: str
  branch:
    description: Branch to follow. Exactly one of O(branch), O(tag), O(semver) and O(commit) with O(state=present).
    type: str
  tag:
    description: Tag to follow.
    type: str
  semver:
    description: Semantic-version range of tags to follow.
    type: str
  commit:
    description: Commit to pin.
    type: str
  sync_interval_seconds:
    description: How often Flux fetches the repository.
    type: int
  timeout_seconds:
    description: Timeout of a fetch.
    type: int
  https_user:
    description: User for an HTTPS repository that needs one.
    type: str
  https_key:
    description: Password or token for O(https_user). Never logged, never returned by Azure, sent with every write.
    type: str
  kustomizations:
    description: What to apply from the repository. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      name:
        description: Kustomization name (lower-case letters, digits and hyphens).
        type: str
        required: true
      path:
        description: Folder in the repository.
        type: str
        default: ''
      prune:
        description: Delete what disappears from the repository.
        type: bool
        default: false
      depends_on:
        description: Names of kustomizations of this configuration to apply first.
        type: list
        elements: str
      sync_interval_seconds:
        description: How often Flux re-applies it.
        type: int
  suspend:
    description: Pause reconciliation.
    type: bool
  state:
    description: Whether the configuration exists.
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
- name: The site's PACS manifests from Git
  medimaging.orthanc.azure_flux_configuration:
    resource_group: rg-imaging-onprem
    cluster_name: ocp-radiology
    name: pacs-config
    url: https://git.hospital.example/imaging/pacs-gitops.git
    branch: main
    kustomizations:
      - name: infra
        path: ./infrastructure
        prune: true
      - name: pacs
        path: ./apps/pacs
        prune: true
        depends_on: [infra]
'''

RETURN = r'''
resource:
  description: The configuration as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the configuration (empty when absent or in check mode before creation).
  returned: always
  type: str
compliance_state:
  description: Flux's reconciliation state as Azure reports it (V(Compliant), V(Non-Compliant), V(Pending)...).
  returned: always
  type: str
'''

import base64
import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_arc import (
    CLUSTER_OPTIONS, cluster_args, cluster_parent)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, prune, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, converge, invalid)

NAME = re.compile(r'[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?\Z')
KUSTOMIZATION = re.compile(r'[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z')
URL = re.compile(r'(https?://|ssh://|git@)[^\s]+\Z')
REFS = ('branch', 'tag', 'semver', 'commit')
PROTECTED = 'properties.configurationProtectedSettings'


def check_input(module):
    params = module.params
    if not NAME.match(params['name']):
        invalid(module, 'name', '%r: 1-30 lower-case letters, digits and hyphens, starting and ending with a letter '
                'or digit' % params['name'], 'Choose a name that does')
    if params['state'] == 'absent':
        return
    if not params['url'] or not URL.match(params['url']):
        invalid(module, 'url', '%r is not a Git repository URL' % params['url'],
                'Use https://..., ssh://... or git@host:path')
    refs = [ref for ref in REFS if params[ref]]
    if len(refs) != 1:
        invalid(module, 'branch', 'exactly one of branch, tag, semver and commit is needed (got %s)'
                % (', '.join(refs) or 'none'), 'Set one of them')
    if bool(params['https_user']) != bool(params['https_key']) or (params['https_user'] and
                                                                   not params['url'].startswith('https://')):
        invalid(module, 'https_user', 'https_user and https_key go together, with an https:// URL',
                'Set both (and an https URL), or neither')
    kustomizations = params['kustomizations'] or []
    if not kustomizations:
        invalid(module, 'kustomizations', 'at least one is required with state=present', 'Add one')
    names = [k['name'] for k in kustomizations]
    for item in kustomizations:
        if not KUSTOMIZATION.match(item['name']) or names.count(item['name']) > 1:
            invalid(module, 'kustomizations[].name', '%r is not a unique DNS label' % item['name'],
                    'Give every kustomization its own lower-case name')
        for dependency in item['depends_on'] or []:
            if dependency not in names or dependency == item['name']:
                invalid(module, 'kustomizations[%s].depends_on' % item['name'], '%r is not another kustomization '
                        'of this configuration' % dependency, 'Name one of %s' % ', '.join(names))


def desired_body(params):
    kustomizations = dict((k['name'], {'path': k['path'], 'prune': k['prune'], 'dependsOn': k['depends_on'],
                                       'syncIntervalInSeconds': k['sync_interval_seconds']})
                          for k in params['kustomizations'] or [])
    return {'properties': {
        'scope': params['scope'],
        'namespace': params['namespace'],
        'sourceKind': 'GitRepository',
        'suspend': params['suspend'],
        'gitRepository': {
            'url': params['url'],
            'repositoryRef': dict((ref, params[ref]) for ref in REFS if params[ref]),
            'syncIntervalInSeconds': params['sync_interval_seconds'],
            'timeoutInSeconds': params['timeout_seconds'],
            'httpsUser': params['https_user'],
        },
        'kustomizations': kustomizations or None,
    }}


def comparable(current, wanted):
    """The configuration read for comparison: each kustomization the task names keeps only the fields it sets (Azure
    fills in defaults), others stay whole (so a kustomization dropped from the task shows as a change), and the
    repository reference loses the null refs Azure may list."""
    props = (current or {}).get('properties') or {}
    have = props.get('kustomizations') or {}
    for name, fields in (wanted or {}).items():
        if isinstance(have.get(name), dict):
            have[name] = dict((k, v) for k, v in have[name].items() if k in fields)
    ref = (props.get('gitRepository') or {}).get('repositoryRef')
    if isinstance(ref, dict):
        props['gitRepository']['repositoryRef'] = dict((k, v) for k, v in ref.items() if v is not None)
    return current


def main():
    spec = dict(CLUSTER_OPTIONS)
    spec.update(
        name=dict(type='str', required=True),
        namespace=dict(type='str', default='flux-system'),
        scope=dict(type='str', default='cluster', choices=['cluster', 'namespace']),
        url=dict(type='str'),
        branch=dict(type='str'),
        tag=dict(type='str'),
        semver=dict(type='str'),
        commit=dict(type='str'),
        sync_interval_seconds=dict(type='int'),
        timeout_seconds=dict(type='int'),
        https_user=dict(type='str'),
        https_key=dict(type='str', no_log=True),
        kustomizations=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            path=dict(type='str', default=''),
            prune=dict(type='bool', default=False),
            depends_on=dict(type='list', elements='str'),
            sync_interval_seconds=dict(type='int'),
        )),
        suspend=dict(type='bool'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module = azure_module(spec, sdks=['k8s_flux', 'hybridkubernetes'])
    check_input(module)
    params = module.params
    clients = clients_for(module)
    flux = clients.get('k8s_flux').flux_configurations
    where = cluster_args(params)
    name = params['name']
    # Flux takes the key base64-encoded (az k8s-configuration flux create does the same).
    protected = {'httpsKey': base64.b64encode(params['https_key'].encode('utf-8')).decode('ascii')} \
        if params['https_key'] else None

    desired = desired_body(params)
    wanted = prune(desired['properties']['kustomizations'])

    def write(body):
        if wanted:  # exactly the task's kustomizations: a PUT replaces them all, so a dropped one goes
            body.setdefault('properties', {})['kustomizations'] = wanted
        if protected:
            body.setdefault('properties', {})['configurationProtectedSettings'] = protected
        return flux.begin_create_or_update(*(where + (name, body)), cls=raw_json)

    resource = ArmResource(
        'Flux configuration', name,
        read=lambda: comparable(flux.get(*(where + (name,)), cls=raw_json), wanted),
        create=write,
        delete=lambda: flux.begin_delete(*(where + (name,))),
        read_only=['properties.statuses', 'properties.repositoryPublicKey', 'properties.sourceSyncedCommitId',
                   'properties.sourceUpdatedAt', 'properties.statusUpdatedAt', 'properties.complianceState',
                   'properties.errorMessage', PROTECTED],
        immutable=['properties.scope', 'properties.namespace'],
        exact=['properties.kustomizations', 'properties.gitRepository.repositoryRef'],
        parent=cluster_parent(clients, params),
    )
    result = converge(module, resource, desired)
    found = result['resource'] or {}
    module.exit_json(id=found.get('id') or '',
                     compliance_state=(found.get('properties') or {}).get('complianceState') or '', **result)


if __name__ == '__main__':
    main()
