#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_container_app
short_description: Create, update or delete an Azure Container App
version_added: 0.1.0
description:
  - Converges a container app (Microsoft.App/containerApps) in a Container Apps environment, with its containers,
    secrets (plain values, or Key Vault references read through the app's identity), ingress with IP restrictions
    and additional port mappings, scale, probes, revisions mode and managed identities.
  - The app's total CPU and memory must be one of the pairs Azure allows on the Consumption plan (0.25 vCPU/0.5Gi
    up to 2 vCPU/4Gi, 1 vCPU for 2 GiB; up to 4 vCPU/8Gi on the C(Consumption) workload profile). Other pairs, an
    env var naming no secret, or mixed Allow/Deny IP rules are refused before any call.
  - Azure never returns secret values. When an update keeps secrets the task does not give, their values are read
    back through listSecrets and sent again (as C(az containerapp update) does), so nothing is lost. Plain secret
    values given by the task are compared through listSecrets; they never appear in the diff or the result.
  - A change under the template (containers, scale, revision suffix) makes a new revision; secrets and ingress do not.
options:
  resource_group:
    description: Resource group of the app. It must exist.
    type: str
    required: true
  name:
    description: App name, 2-32 lower-case letters, digits and hyphens, starting with a letter.
    type: str
    required: true
  environment:
    description:
      - The Container Apps environment, by name (in O(resource_group)) or by resource id. Required to create; an
        app cannot move to another environment.
    type: str
  workload_profile_name:
    description: Workload profile of the environment that runs the app (workload-profiles environments only).
    type: str
  system_assigned_identity:
    description: Whether the app has a system-assigned identity. Unset leaves the identity as it is.
    type: bool
  user_assigned_identities:
    description: Resource ids of the user-assigned identities attached to the app (Key Vault references use one).
    type: list
    elements: str
  revisions_mode:
    description: C(Single) keeps one active revision (a new one takes the traffic when ready); C(Multiple) keeps several.
    type: str
    choices: [Single, Multiple]
  secrets:
    description:
      - The app's secrets, all of them (the list replaces Azure's). Each has a O(secrets[].value) or a
        O(secrets[].key_vault_url) with O(secrets[].identity). Unset keeps the current secrets and their values.
    type: list
    elements: dict
    suboptions:
      name:
        description: Secret name (lower-case letters, digits, hyphens and periods).
        type: str
        required: true
      value:
        description: The value. Never logged, shown or returned.
        type: str
      key_vault_url:
        description: Key Vault secret URL, C(https://<vault>.vault.azure.net/secrets/<name>[/<version>]); without a
          version the app follows the latest one.
        type: str
      identity:
        description: Identity reading the Key Vault secret, a user-assigned identity id of the app or C(system).
        type: str
  ingress:
    description: Ingress. Unset leaves it as it is.
    type: dict
    suboptions:
      external:
        description: Reachable from outside the environment (internet, or the VNet for an internal environment).
        type: bool
        default: true
      target_port:
        description: Port the container listens on.
        type: int
        required: true
      exposed_port:
        description: Port exposed by a TCP ingress.
        type: int
      transport:
        description: Ingress transport.
        type: str
        default: auto
        choices: [auto, http, http2, tcp]
      allow_insecure:
        description: Accept plain HTTP instead of redirecting it to HTTPS.
        type: bool
        default: false
      ip_security_restrictions:
        description: IP rules, all of one action (Allow lists or Deny lists).
        type: list
        elements: dict
        suboptions:
          name:
            description: Rule name.
            type: str
            required: true
          ip_address_range:
            description: CIDR range or address.
            type: str
            required: true
          action:
            description: Allow or Deny.
            type: str
            required: true
            choices: [Allow, Deny]
          description:
            description: Free text.
            type: str
      additional_port_mappings:
        description:
          - More ports (at most 5), such as DICOM's 4242. An external mapping needs an environment in a custom VNet
            (Azure carries raw TCP only there).
        type: list
        elements: dict
        suboptions:
          external:
            description: Reachable from outside the environment.
            type: bool
            required: true
          target_port:
            description: Container port.
            type: int
            required: true
          exposed_port:
            description: Port exposed by the environment (defaults to target_port).
            type: int
  containers:
    description: The containers of the template (a change makes a new revision). Unset leaves them as they are.
    type: list
    elements: dict
    suboptions:
      name:
        description: Container name.
        type: str
        required: true
      image:
        description: Image reference.
        type: str
        required: true
      command:
        description: Entrypoint override.
        type: list
        elements: str
      args:
        description: Arguments.
        type: list
        elements: str
      cpu:
        description: vCPU such as 0.5.
        type: float
        required: true
      memory:
        description: Memory such as C(1Gi).
        type: str
        required: true
      env:
        description: Environment variables, each with a O(containers[].env[].value) or a
          O(containers[].env[].secret_ref) (the name of a secret of the app).
        type: list
        elements: dict
        suboptions:
          name:
            description: Variable name.
            type: str
            required: true
          value:
            description: Plain value (never a secret; use secret_ref).
            type: str
          secret_ref:
            description: Name of an app secret.
            type: str
      probes:
        description: Liveness, readiness and startup probes.
        type: list
        elements: dict
        suboptions:
          type:
            description: Probe type.
            type: str
            required: true
            choices: [Liveness, Readiness, Startup]
          http_get:
            description: HTTP probe (C(path), C(port), C(scheme) HTTP or HTTPS).
            type: dict
          tcp_socket:
            description: TCP probe (C(port)).
            type: dict
          initial_delay_seconds:
            description: 0-60.
            type: int
          period_seconds:
            description: 1-240.
            type: int
          failure_threshold:
            description: 1-10.
            type: int
          timeout_seconds:
            description: 1-240.
            type: int
          success_threshold:
            description: 1-10.
            type: int
  min_replicas:
    description: Fewest replicas (0 lets the app scale to zero).
    type: int
  max_replicas:
    description: Most replicas.
    type: int
  revision_suffix:
    description: Suffix of the next revision's name (C(<app>--<suffix>)); must be new for each template change.
    type: str
  state:
    description: Whether the app exists.
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
- name: Orthanc, one replica, HTTPS ingress, secrets from Key Vault
  medimaging.orthanc.azure_container_app:
    resource_group: rg-pacs
    name: orthanc
    location: westeurope
    environment: cae-pacs
    user_assigned_identities: ["{{ identity.id }}"]
    secrets:
      - name: pg-password
        key_vault_url: "https://kv-pacs.vault.azure.net/secrets/pg-password"
        identity: "{{ identity.id }}"
    ingress:
      external: true
      target_port: 8042
    containers:
      - name: orthanc
        image: docker.io/orthancteam/orthanc:25.12.1
        cpu: 1.0
        memory: 2Gi
        env:
          - name: ORTHANC__POSTGRESQL__PASSWORD
            secret_ref: pg-password
    min_replicas: 1
    max_replicas: 1
  register: app

- name: Its address
  ansible.builtin.debug:
    msg: "{{ app.url }}"
'''

RETURN = r'''
resource:
  description: The app as ARM returns it, without secret values (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the app.
  returned: always
  type: str
fqdn:
  description: Host name of the ingress (empty without ingress, or in check mode before creation).
  returned: always
  type: str
url:
  description: C(https://<fqdn>), or empty.
  returned: always
  type: str
latest_revision_name:
  description: Newest revision.
  returned: always
  type: str
latest_ready_revision_name:
  description: Newest revision that is ready.
  returned: always
  type: str
principal_id:
  description: Object id of the system-assigned identity, or empty.
  returned: always
  type: str
outbound_ip_addresses:
  description: Addresses the app's outbound traffic comes from (for firewall rules such as PostgreSQL's).
  returned: always
  type: list
  elements: str
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils import container_app_body as cab

PROBE = dict(
    type=dict(type='str', required=True, choices=['Liveness', 'Readiness', 'Startup']),
    http_get=dict(type='dict'),
    tcp_socket=dict(type='dict'),
    initial_delay_seconds=dict(type='int'),
    period_seconds=dict(type='int'),
    failure_threshold=dict(type='int'),
    timeout_seconds=dict(type='int'),
    success_threshold=dict(type='int'),
)

ARGUMENTS = dict(
    resource_group=dict(type='str', required=True),
    name=dict(type='str', required=True),
    location=dict(type='str'),
    tags=dict(type='dict'),
    environment=dict(type='str'),
    workload_profile_name=dict(type='str'),
    system_assigned_identity=dict(type='bool'),
    user_assigned_identities=dict(type='list', elements='str'),
    revisions_mode=dict(type='str', choices=['Single', 'Multiple']),
    secrets=dict(type='list', elements='dict', no_log=False, options=dict(
        name=dict(type='str', required=True),
        value=dict(type='str', no_log=True),
        key_vault_url=dict(type='str', no_log=False),
        identity=dict(type='str'),
    )),
    ingress=dict(type='dict', options=dict(
        external=dict(type='bool', default=True),
        target_port=dict(type='int', required=True),
        exposed_port=dict(type='int'),
        transport=dict(type='str', default='auto', choices=['auto', 'http', 'http2', 'tcp']),
        allow_insecure=dict(type='bool', default=False),
        ip_security_restrictions=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            ip_address_range=dict(type='str', required=True),
            action=dict(type='str', required=True, choices=['Allow', 'Deny']),
            description=dict(type='str'),
        )),
        additional_port_mappings=dict(type='list', elements='dict', options=dict(
            external=dict(type='bool', required=True),
            target_port=dict(type='int', required=True),
            exposed_port=dict(type='int'),
        )),
    )),
    containers=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        image=dict(type='str', required=True),
        command=dict(type='list', elements='str'),
        args=dict(type='list', elements='str'),
        cpu=dict(type='float', required=True),
        memory=dict(type='str', required=True),
        env=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            value=dict(type='str'),
            secret_ref=dict(type='str', no_log=False),
        )),
        probes=dict(type='list', elements='dict', options=PROBE),
    )),
    min_replicas=dict(type='int'),
    max_replicas=dict(type='int'),
    revision_suffix=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
)


def environment_id(subscription, group, environment):
    if environment is None or environment.lower().startswith('/subscriptions/'):
        return environment
    return '/subscriptions/%s/resourceGroups/%s/providers/Microsoft.App/managedEnvironments/%s' % (
        subscription, group, environment)


def align_identity_keys(desired, current):
    """Spell user-assigned identity ids as Azure returns them (ARM may lower-case parts of an id)."""
    wanted = ((desired.get('identity') or {}).get('userAssignedIdentities')) or {}
    have = ((current or {}).get('identity') or {}).get('userAssignedIdentities') or {}
    spelled = dict((key.lower(), key) for key in have)
    if wanted:
        desired['identity']['userAssignedIdentities'] = dict(
            (spelled.get(key.lower(), key), value) for key, value in wanted.items())


def main():
    module = azure_module(ARGUMENTS, sdks=['appcontainers'])
    params = module.params
    problem = cab.name_problem('container_app', params['name'])
    if problem:
        invalid(module, 'name', '%r does not follow the naming rule (%s)' % (params['name'], problem),
                'Choose a name that does')
    if params['state'] == 'present':
        try:
            cab.check_inputs(params)
        except cab.ContainerAppInputError as exc:
            module.fail_json(msg='Invalid container app input: %s.' % exc)
    clients = clients_for(module)
    apps = clients.get('appcontainers').container_apps
    group, name = params['resource_group'], params['name']
    given = cab.plain_secret_values(params)
    listed = {}

    def listed_values():
        if 'values' not in listed:
            listed['values'] = cab.listed_values(apps.list_secrets(group, name, cls=raw_json))
        return listed['values']

    def write(body):
        # listSecrets only when the body keeps plain secrets the task does not give (an update of other fields).
        known = listed_values() if current is not None and cab.needs_listed_values(body, given) else {}
        return apps.begin_create_or_update(group, name, cab.restore_values(body, given, known), cls=raw_json)

    resource = ArmResource(
        'container app', name,
        read=lambda: apps.get(group, name, cls=raw_json),
        create=write,
        delete=lambda: apps.begin_delete(group, name),
        read_only=list(cab.APP_READ_ONLY) + ['properties.managedEnvironmentId'],
        immutable=['location', 'properties.environmentId'],
        exact=['tags'],
        case_insensitive=['properties.environmentId'],
        parent=group_parent(clients, group),
    )
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
        else:
            if current is None:
                missing = [key for key in ('location', 'environment', 'containers') if not params[key]]
                if missing:
                    invalid(module, ', '.join(missing), 'required to create the app', 'Set them')
            desired = cab.app_body(params, environment_id(clients.subscription_id, group, params['environment']))
            align_identity_keys(desired, current)
            if current is not None and given:
                current = cab.mark_value_changes(current, given, listed_values())
            result = engine.present(resource, desired, current, have_current=True)
    except AzureOperationError as exc:
        fail(module, exc)
    except cab.ContainerAppInputError as exc:
        module.fail_json(msg='Invalid container app input: %s.' % exc)
    found = cab.without_values(result['resource'] or {})
    props = found.get('properties') or {}
    fqdn = ((props.get('configuration') or {}).get('ingress') or {}).get('fqdn') or ''
    result.update(
        resource=found, id=found.get('id') or '', fqdn=fqdn, url='https://%s' % fqdn if fqdn else '',
        latest_revision_name=props.get('latestRevisionName') or '',
        latest_ready_revision_name=props.get('latestReadyRevisionName') or '',
        principal_id=(found.get('identity') or {}).get('principalId') or '',
        outbound_ip_addresses=props.get('outboundIpAddresses') or [])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
