#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_arc_connected_cluster
short_description: Create, update or delete an Azure Arc connected cluster resource
version_added: 0.1.0
description:
  - The Microsoft.Kubernetes/connectedClusters resource that C(az connectedk8s connect) creates before it installs
    the Arc agents. It has a system-assigned identity and the agents' public key, and records the distribution and
    infrastructure. Optionally it publishes the cluster's OIDC issuer and runs Arc's workload identity webhook.
  - The resource starts V(Connecting). It turns V(Connected) once the agents, installed with the matching private
    key, report in. Returns RV(connectivity_status) so a task can wait for it (P(medimaging.orthanc.arc_onboard#role)
    role does).
  - Azure refuses a new O(agent_public_key) on an existing resource (the agents hold the private half). The module
    says so before any write. Offboard (O(state=absent)) and connect again to change keys.
  - Checked before any call. The name, a base64 DER public key, workload identity only with the OIDC issuer.
options:
  resource_group:
    description: Resource group of the connected cluster. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Name, 1-63 letters, digits, hyphens and underscores, starting and ending with a letter or digit.
    type: str
    required: true
  agent_public_key:
    description:
      - The agents' RSA public key, base64 of its DER encoding (a PEM C(PUBLIC KEY) body without its header, footer
        and line breaks). Required to create; cannot change.
    type: str
  distribution:
    description: Kubernetes distribution, as C(az connectedk8s connect --distribution) takes it.
    type: str
    default: generic
    choices: [generic, openshift, aks, aks_hci, k3s, kind, eks, gke, rancher_rke, capz]
  infrastructure:
    description: Where the cluster runs, as C(az connectedk8s connect --infrastructure) takes it.
    type: str
    default: generic
    choices: [generic, azure_stack_hci, azure_stack_edge, azure_stack_hub, vsphere, windows_server, aws, gcp]
  oidc_issuer:
    description: Publish the cluster's service-account token issuer (needed for workload identity).
    type: bool
    default: false
  workload_identity:
    description: Run Arc's workload identity webhook (needs O(oidc_issuer)).
    type: bool
    default: false
  state:
    description: Whether the resource exists. V(absent) deletes it (uninstall the agents with Helm too).
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
  - medimaging.orthanc.azure_resource_common
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Connected cluster for the hospital's OpenShift
  medimaging.orthanc.azure_arc_connected_cluster:
    resource_group: rg-imaging-onprem
    name: ocp-radiology
    location: westeurope
    agent_public_key: "{{ agents_public_key_der_b64 }}"
    distribution: openshift
    oidc_issuer: true
    workload_identity: true
  register: arc

- name: Offboard
  medimaging.orthanc.azure_arc_connected_cluster:
    resource_group: rg-imaging-onprem
    name: ocp-radiology
    state: absent
'''

RETURN = r'''
resource:
  description: The connected cluster as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the connected cluster (also for O(state=absent) and in check mode, where it is the id it has or would have).
  returned: always
  type: str
connectivity_status:
  description: What Azure last heard from the agents. V(Connecting) until they report, then V(Connected), V(Offline) or V(Expired).
  returned: always
  type: str
  sample: Connected
oidc_issuer_url:
  description: The cluster's OIDC issuer URL as federated identity credentials must name it (empty until Azure has one).
  returned: always
  type: str
'''

import base64
import binascii

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_arc import connected_cluster_id
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import full_match
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent

CLUSTER_NAME = r'[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?'
KEY = 'properties.agentPublicKeyCertificate'


def check_input(module):
    params = module.params
    if not full_match(CLUSTER_NAME, params['name']):
        invalid(module, 'name', '%r: 1-63 letters, digits, hyphens and underscores, starting and ending with a letter '
                'or digit' % params['name'], 'Choose a name that does')
    if params['workload_identity'] and not params['oidc_issuer']:
        invalid(module, 'workload_identity', 'workload identity needs the OIDC issuer', 'Set oidc_issuer=true')
    key = params['agent_public_key']
    if key is not None:
        try:
            der = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError, TypeError):
            der = b''
        # A DER SEQUENCE (SubjectPublicKeyInfo or PKCS#1): 0x30 and a length; a PEM with its header is not base64.
        if len(der) < 64 or der[0:1] != b'\x30':
            invalid(module, 'agent_public_key', 'it is not base64 of a DER-encoded public key',
                    'Pass the PEM body without the BEGIN/END lines and line breaks')
    if params['state'] == 'present':
        for option in ('location', 'agent_public_key'):
            if not params[option]:
                invalid(module, option, 'it is required with state=present', 'Set %s' % option)


def desired_body(params):
    return {
        'location': params['location'],
        'tags': params['tags'],
        'identity': {'type': 'SystemAssigned'},
        'properties': {
            'agentPublicKeyCertificate': params['agent_public_key'],
            'distribution': params['distribution'],
            'infrastructure': params['infrastructure'],
            'oidcIssuerProfile': {'enabled': params['oidc_issuer']},
            'securityProfile': {'workloadIdentity': {'enabled': params['workload_identity']}},
        },
    }


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            agent_public_key=dict(type='str', no_log=False),
            distribution=dict(type='str', default='generic', choices=[
                'generic', 'openshift', 'aks', 'aks_hci', 'k3s', 'kind', 'eks', 'gke', 'rancher_rke', 'capz']),
            infrastructure=dict(type='str', default='generic', choices=[
                'generic', 'azure_stack_hci', 'azure_stack_edge', 'azure_stack_hub', 'vsphere', 'windows_server',
                'aws', 'gcp']),
            oidc_issuer=dict(type='bool', default=False),
            workload_identity=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['hybridkubernetes'],
    )
    check_input(module)
    params = module.params
    clients = clients_for(module)
    clusters = clients.get('hybridkubernetes').connected_cluster
    group, name = params['resource_group'], params['name']

    resource = ArmResource(
        'Arc connected cluster', name,
        read=lambda: clusters.get(group, name, cls=raw_json),
        create=lambda body: clusters.begin_create_or_replace(group, name, body, cls=raw_json),
        delete=lambda: clusters.begin_delete(group, name),
        read_only=['properties.connectivityStatus', 'properties.kubernetesVersion', 'properties.totalNodeCount',
                   'properties.totalCoreCount', 'properties.agentVersion', 'properties.lastConnectivityTime',
                   'properties.managedIdentityCertificateExpirationTime', 'properties.offering',
                   'properties.miscellaneousProperties', 'properties.oidcIssuerProfile.issuerUrl',
                   'identity.principalId', 'identity.tenantId'],
        immutable=['location', KEY],
        exact=['tags'],
        parent=group_parent(clients, group),
    )
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
        else:
            refuse_issuer_off(params, current, resource)
            result = engine.present(resource, desired_body(params), current, have_current=True)
    except AzureOperationError as exc:
        fail(module, exc)
    found = result['resource'] or {}
    props = found.get('properties') or {}
    module.exit_json(
        id=found.get('id') or connected_cluster_id(clients.subscription_id, group, name),
        connectivity_status=props.get('connectivityStatus') or '',
        oidc_issuer_url=(props.get('oidcIssuerProfile') or {}).get('issuerUrl') or '',
        **result)


def refuse_issuer_off(params, current, resource):
    was_on = ((current or {}).get('properties') or {}).get('oidcIssuerProfile', {}).get('enabled') is True
    if was_on and not params['oidc_issuer']:
        raise AzureOperationError('update %s' % resource.label(), code='ImmutableField',
                                  message='the OIDC issuer is on and Azure cannot turn it off',
                                  hint='keep oidc_issuer=true')


if __name__ == '__main__':
    main()
