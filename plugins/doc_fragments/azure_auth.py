# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml


class ModuleDocFragment(object):

    # The credential options (medimaging.orthanc.azure_auth.credential): every Azure module has them, and a module that
    # reaches a data plane with an Entra ID credential (Blob) has only these: it needs no subscription.
    CREDENTIAL = r'''
options:
  auth_source:
    description:
      - Where the credential comes from.
      - V(auto) uses O(client_id)/O(secret)/O(tenant) when a secret is given (as options, C(AZURE_*) variables
        or the credential file), else a managed identity, else the Azure CLI login.
      - V(env) uses C(AZURE_CLIENT_ID), C(AZURE_CLIENT_SECRET), C(AZURE_TENANT_ID) (or C(AZURE_FEDERATED_TOKEN_FILE)
        for workload identity).
      - V(cli) uses the account of C(az login) on the controller.
      - V(msi) uses the managed identity of the machine the module runs on (O(client_id) selects a user-assigned one).
      - V(credential_file) reads O(profile) from O(credential_file).
    type: str
    default: auto
    choices: [auto, env, cli, msi, credential_file]
  tenant:
    description:
      - Microsoft Entra tenant id. Falls back to C(AZURE_TENANT_ID).
    type: str
  client_id:
    description:
      - Application (client) id of a service principal, or of a user-assigned managed identity.
        Falls back to C(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - Client secret of the service principal. Falls back to C(AZURE_CLIENT_SECRET). Never logged.
    type: str
  cloud:
    description:
      - The Azure cloud; sets the ARM endpoint, the Entra ID authority and the token audience.
    type: str
    default: AzureCloud
    choices: [AzureChinaCloud, AzureCloud, AzureUSGovernment]
  authority_host:
    description:
      - An explicit Entra ID authority (https only) instead of the one of O(cloud). Falls back to
        C(AZURE_AUTHORITY_HOST). Instance discovery is turned off when set.
    type: str
  ca_bundle:
    description:
      - PEM file of CAs to trust for ARM and the authority. Falls back to C(REQUESTS_CA_BUNDLE).
    type: path
  credential_file:
    description:
      - INI file with C(subscription_id), C(client_id), C(secret), C(tenant) per profile.
        Falls back to C(AZURE_CREDENTIAL_FILE), then C(~/.azure/credentials).
    type: path
  profile:
    description:
      - Section of O(credential_file) to read.
    type: str
    default: default
requirements:
  - python >= 3.9
  - azure-identity >= 1.17
'''

    # What a Resource Manager module adds to them (medimaging.orthanc.azure_auth is both, see DOCUMENTATION below).
    ARM = r'''
options:
  subscription_id:
    description:
      - The subscription that holds the resources. Falls back to C(AZURE_SUBSCRIPTION_ID).
    type: str
  arm_endpoint:
    description:
      - An explicit Resource Manager endpoint (https only) instead of the one of O(cloud), for example a local
        emulator. Falls back to C(AZURE_ARM_ENDPOINT).
    type: str
  wait:
    description:
      - Wait for long-running operations to finish. With V(false) the module returns once Azure accepted the request.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for a long-running operation before failing (the operation keeps running in Azure).
    type: int
    default: 1800
requirements:
  - azure-core >= 1.30
  - azure-mgmt-resource >= 23.0 (every module reads the resource group before it creates anything)
notes:
  - Every module supports check mode and diff mode; a run with nothing to change makes exactly one GET per resource.
  - Before a create, a missing subscription, resource group or parent resource fails the task without any write,
    in check mode too (so in a check-mode run, a child of a resource that would be created is skipped by the roles).
  - Names, the resource group, the location and the subscription id are checked as whole strings before any call.
  - Secrets given to these modules are never returned nor logged.
'''


def _merged(*fragments):
    """One fragment from several: options and notes of each, requirements in order (each stays linted as written)."""
    merged = {}
    for text in fragments:
        for key, value in yaml.safe_load(text).items():
            before = merged.get(key)
            merged[key] = dict(before or {}, **value) if isinstance(value, dict) else (before or []) + value
    return yaml.safe_dump(merged, sort_keys=False)


# Common options of every medimaging.orthanc Azure Resource Manager module (medimaging.orthanc.azure_auth).
ModuleDocFragment.DOCUMENTATION = _merged(ModuleDocFragment.CREDENTIAL, ModuleDocFragment.ARM)
