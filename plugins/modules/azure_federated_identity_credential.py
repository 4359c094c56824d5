#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_federated_identity_credential
short_description: Trust an external token issuer (a Kubernetes service account) for a user-assigned identity
version_added: 0.1.0
description:
  - A federated identity credential
    (Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials) lets a workload exchange a token
    from another issuer for an Entra ID token of the identity, with no secret. For AKS workload identity the issuer
    is the cluster's OIDC issuer URL and the subject C(system:serviceaccount:<namespace>:<service account>).
  - Entra ID compares issuer and subject exactly (case and trailing slash included), so pass the issuer URL the
    cluster reports (M(medimaging.orthanc.azure_aks_cluster) returns it).
  - An identity holds at most 20 credentials, and no two with the same issuer and subject.
options:
  resource_group:
    description: Resource group of the identity. It must exist; a missing group (or identity) fails before any write, in check mode too.
    type: str
    required: true
  identity:
    description: Name of the user-assigned identity.
    type: str
    required: true
  name:
    description: Credential name, 3-120 letters, digits, hyphens and underscores, starting with a letter or digit.
    type: str
    required: true
  issuer:
    description: HTTPS URL of the token issuer. Required to create.
    type: str
  subject:
    description: Subject of the external token, for Kubernetes C(system:serviceaccount:<namespace>:<name>). Required to create.
    type: str
  audiences:
    description: Audiences of the external token.
    type: list
    elements: str
    default: ['api://AzureADTokenExchange']
  state:
    description: Whether the credential exists.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Trust the Orthanc service account of the cluster
  medimaging.orthanc.azure_federated_identity_credential:
    resource_group: rg-imaging-prod
    identity: id-orthanc
    name: aks-pacs-orthanc
    issuer: "{{ aks.oidc_issuer_url }}"
    subject: system:serviceaccount:pacs:orthanc
'''

RETURN = r'''
resource:
  description: The credential as ARM returns it (empty after deletion).
  returned: always
  type: dict
  sample:
    name: aks-pacs-orthanc
    properties:
      issuer: https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/
      subject: system:serviceaccount:pacs:orthanc
      audiences: [api://AzureADTokenExchange]
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import identity_parent

MAX_SUBJECT = 600  # Entra ID's limit on the subject of a federated credential


def check_input(module):
    params = module.params
    if params['state'] == 'present':
        for option in ('issuer', 'subject'):
            if not params[option]:
                invalid(module, option, 'it is required with state=present', 'Set %s' % option)
    issuer = params['issuer']
    if issuer is not None and not (issuer.startswith('https://') and len(issuer) > len('https://')
                                   and not any(c.isspace() for c in issuer)):
        invalid(module, 'issuer', '%r is not an https:// URL' % issuer,
                'Pass the OIDC issuer URL of the cluster exactly as it reports it (https://...)')
    subject = params['subject']
    if subject is not None and (not subject.strip() or len(subject) > MAX_SUBJECT):
        invalid(module, 'subject', 'it must be 1-%d characters' % MAX_SUBJECT,
                'For a Kubernetes service account use system:serviceaccount:<namespace>:<name>')
    if params['state'] == 'present' and not params['audiences']:
        invalid(module, 'audiences', 'at least one audience is required',
                'Use the default, api://AzureADTokenExchange')


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            identity=dict(type='str', required=True),
            name=dict(type='str', required=True),
            issuer=dict(type='str'),
            subject=dict(type='str'),
            audiences=dict(type='list', elements='str', default=['api://AzureADTokenExchange']),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['msi'],
        required_if=[('state', 'present', ('issuer', 'subject'))],
    )
    check_name(module, 'identity', 'user_assigned_identity')
    check_name(module, 'name', 'federated_credential')
    check_input(module)
    params = module.params
    clients = clients_for(module)
    credentials = clients.get('msi').federated_identity_credentials
    group, identity, name = params['resource_group'], params['identity'], params['name']

    resource = ArmResource(
        'federated identity credential', '%s/%s' % (identity, name),
        read=lambda: credentials.get(group, identity, name, cls=raw_json),
        create=lambda body: credentials.create_or_update(group, identity, name, body, cls=raw_json),
        delete=lambda: credentials.delete(group, identity, name),
        parent=identity_parent(clients, group, identity),
    )
    desired = {'properties': {'issuer': params['issuer'], 'subject': params['subject'],
                              'audiences': params['audiences']}}
    module.exit_json(**converge(module, resource, desired))


if __name__ == '__main__':
    main()
