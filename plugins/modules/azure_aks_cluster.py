#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_aks_cluster
short_description: Create, update or delete an AKS cluster ready for workload identity
version_added: 0.1.0
description:
  - An AKS managed cluster (Microsoft.ContainerService/managedClusters) with what the Orthanc chart relies on, on by
    default. The OIDC issuer and workload identity let pods get Entra ID tokens without a secret, the Key Vault
    secrets provider add-on mounts Key Vault secrets, and Azure CNI puts pods on the VNet.
  - Returns the OIDC issuer URL that M(medimaging.orthanc.azure_federated_identity_credential) needs. The
    kubeconfig comes from M(medimaging.orthanc.azure_aks_cluster_info), so credentials never sit in this
    module's result.
  - Checked before any call. Workload identity needs the OIDC issuer, autoscaling needs O(node_pools[].min_count)
    <= O(node_pools[].max_count), a kubelet identity needs a user-assigned control-plane identity, and one pool
    must be a V(System) pool.
  - Azure refuses turning the OIDC issuer off, changing O(dns_prefix), O(private_cluster), the network plugin or a
    pool's VM size after creation; the module says so before any write.
  - Node pools are compared by what is set. With autoscaling on, the node count is the autoscaler's, so the
    module keeps the current count (brought within new bounds) and starts a new pool at O(node_pools[].min_count).
options:
  resource_group:
    description: Resource group of the cluster. It must exist; a missing group fails before any write, in check mode too.
    type: str
    required: true
  name:
    description: Cluster name, 1-63 letters, digits, underscores and hyphens, starting and ending with a letter or digit.
    type: str
    required: true
  dns_prefix:
    description: DNS prefix of the API server name, 1-54 letters, digits and hyphens. Required to create.
    type: str
  kubernetes_version:
    description: Kubernetes version (for example V(1.33)). Default is Azure's default version.
    type: str
  sku_tier:
    description: Control plane tier; V(Standard) has an uptime SLA.
    type: str
    choices: [Free, Standard, Premium]
  node_pools:
    description: Agent pools. Required to create. One of them must have O(node_pools[].mode=System).
    type: list
    elements: dict
    suboptions:
      name:
        description: Pool name, 1-12 lower-case letters and digits starting with a letter.
        type: str
        required: true
      vm_size:
        description: VM size of the nodes (cannot change).
        type: str
        required: true
      count:
        description: Node count when autoscaling is off.
        type: int
        default: 1
      enable_auto_scaling:
        description: Let the cluster autoscaler choose the count between O(node_pools[].min_count) and O(node_pools[].max_count).
        type: bool
        default: false
      min_count:
        description: Fewest nodes with autoscaling.
        type: int
      max_count:
        description: Most nodes with autoscaling.
        type: int
      mode:
        description: V(System) pools run the cluster's own pods; V(User) pools only workloads.
        type: str
        choices: [System, User]
        default: System
      vnet_subnet_id:
        description: Subnet of the nodes (and, with Azure CNI, of the pods).
        type: str
      availability_zones:
        description: Zones to spread the nodes over.
        type: list
        elements: str
      max_pods:
        description: Most pods per node.
        type: int
  network_plugin:
    description: Network plugin; V(azure) (Azure CNI) gives pods VNet addresses. Cannot change after creation.
    type: str
    choices: [azure, kubenet, none]
    default: azure
  network_policy:
    description: Network policy engine enforcing Kubernetes NetworkPolicy.
    type: str
    choices: [azure, calico, cilium, none]
  service_cidr:
    description: Range of Kubernetes service addresses; must not overlap the VNet.
    type: str
  dns_service_ip:
    description: Address of the cluster DNS service, inside O(service_cidr).
    type: str
  oidc_issuer:
    description: Publish the service-account token issuer (needed for workload identity). Cannot be turned off.
    type: bool
    default: true
  workload_identity:
    description: Run the workload identity webhook (pods labelled C(azure.workload.identity/use=true) get tokens).
    type: bool
    default: true
  key_vault_secrets_provider:
    description: The Key Vault secrets provider add-on (Secrets Store CSI driver).
    type: dict
    suboptions:
      enabled:
        description: Whether the add-on runs.
        type: bool
        default: true
      enable_secret_rotation:
        description: Refresh mounted secrets when Key Vault changes them.
        type: bool
        default: true
      rotation_poll_interval:
        description: How often to look for changes, for example V(2m).
        type: str
  private_cluster:
    description: Give the API server a private address only (set at creation).
    type: bool
  authorized_ip_ranges:
    description: Public ranges allowed to reach a public API server. An empty list allows every address.
    type: list
    elements: str
  identity_id:
    description: Resource id of a user-assigned identity for the control plane. Without it the cluster has a
      system-assigned identity.
    type: str
  kubelet_identity_id:
    description: Resource id of a user-assigned identity for the kubelets (pulling images, for example). Needs
      O(identity_id), and that identity needs the Managed Identity Operator role on this one.
    type: str
  state:
    description: Whether the cluster exists.
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
- name: AKS for the PACS, pods on the VNet, workload identity on
  medimaging.orthanc.azure_aks_cluster:
    resource_group: rg-imaging-prod
    name: aks-pacs
    location: westeurope
    dns_prefix: aks-pacs
    sku_tier: Standard
    identity_id: "{{ control_plane_identity.id }}"
    node_pools:
      - name: system
        vm_size: Standard_D4ds_v5
        enable_auto_scaling: true
        min_count: 2
        max_count: 5
        vnet_subnet_id: "{{ vnet.subnet_ids.aks }}"
        availability_zones: ['1', '2', '3']
    network_policy: azure
    service_cidr: 10.200.0.0/16
    dns_service_ip: 10.200.0.10
    key_vault_secrets_provider:
      enable_secret_rotation: true
  register: aks

- name: Trust the Orthanc service account
  medimaging.orthanc.azure_federated_identity_credential:
    resource_group: rg-imaging-prod
    identity: id-orthanc
    name: aks-pacs-orthanc
    issuer: "{{ aks.oidc_issuer_url }}"
    subject: system:serviceaccount:pacs:orthanc
'''

RETURN = r'''
resource:
  description: The cluster as ARM returns it (empty after deletion).
  returned: always
  type: dict
id:
  description: Resource id of the cluster.
  returned: always
  type: str
oidc_issuer_url:
  description: The service-account token issuer, exactly as federated credentials must name it (empty in check
    mode before creation).
  returned: always
  type: str
  sample: https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-2222-3333-4444-555555555555/
fqdn:
  description: API server name (the private one for a private cluster).
  returned: always
  type: str
kubelet_identity:
  description: Client id, object id and resource id of the kubelet identity (give it AcrPull on a registry).
  returned: always
  type: dict
node_resource_group:
  description: The group Azure keeps the nodes in.
  returned: always
  type: str
'''

import ipaddress

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, clients_for, engine_for, fail, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import full_match
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import scope_problem

CLUSTER_NAME = r'[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?'
DNS_PREFIX = r'[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?'
POOL_NAME = r'[a-z][a-z0-9]{0,11}'
IDENTITY = 'microsoft.managedidentity/userassignedidentities'


def _id_of(module, option, value, kind, words):
    if value is not None and (scope_problem(value) or ('/providers/%s/' % kind) not in value.lower()):
        invalid(module, option, '%r is not %s' % (value, words), 'Use the resource id (/subscriptions/...)')


def check_pools(module, pools):
    for pool in pools:
        where = 'node_pools[%s]' % pool['name']
        if not full_match(POOL_NAME, pool['name']):
            invalid(module, 'node_pools[].name', '%r: 1-12 lower-case letters and digits starting with a letter'
                    % pool['name'], 'Choose a name that does')
        if pool['enable_auto_scaling']:
            low, high = pool['min_count'], pool['max_count']
            if low is None or high is None or low > high or low < (1 if pool['mode'] == 'System' else 0):
                invalid(module, where + '.min_count', 'autoscaling needs min_count <= max_count (min %s, max %s; '
                        'at least 1 in a System pool)' % (low, high), 'Set both, min_count not above max_count')
        elif pool['min_count'] is not None or pool['max_count'] is not None:
            invalid(module, where + '.min_count', 'min_count and max_count apply only with autoscaling',
                    'Set enable_auto_scaling=true, or drop min_count and max_count')
        elif not 0 <= pool['count'] <= 1000 or (pool['mode'] == 'System' and pool['count'] < 1):
            invalid(module, where + '.count', '%d is outside 1-1000 (0-1000 for a User pool)' % pool['count'],
                    'Choose a count in range')
        _id_of(module, where + '.vnet_subnet_id', pool['vnet_subnet_id'], 'microsoft.network/virtualnetworks',
               'a subnet id')
    if pools and not any(pool['mode'] == 'System' for pool in pools):
        invalid(module, 'node_pools', 'no pool has mode System', 'Make one pool mode=System')


def check_input(module):
    params = module.params
    if not full_match(CLUSTER_NAME, params['name']):
        invalid(module, 'name', '%r: 1-63 letters, digits, underscores and hyphens, starting and ending with a letter '
                'or digit' % params['name'], 'Choose a name that does')
    if params['dns_prefix'] is not None and not full_match(DNS_PREFIX, params['dns_prefix']):
        invalid(module, 'dns_prefix', '%r: 1-54 letters, digits and hyphens, starting and ending with a letter or '
                'digit' % params['dns_prefix'], 'Choose a prefix that does')
    if params['workload_identity'] and not params['oidc_issuer']:
        invalid(module, 'workload_identity', 'workload identity needs the OIDC issuer', 'Keep oidc_issuer=true')
    if params['kubelet_identity_id'] and not params['identity_id']:
        invalid(module, 'kubelet_identity_id', 'a kubelet identity needs a user-assigned control-plane identity',
                'Set identity_id too')
    _id_of(module, 'identity_id', params['identity_id'], IDENTITY, 'a user-assigned identity id')
    _id_of(module, 'kubelet_identity_id', params['kubelet_identity_id'], IDENTITY, 'a user-assigned identity id')
    check_pools(module, params['node_pools'] or [])
    if params['service_cidr'] or params['dns_service_ip']:
        try:
            service = ipaddress.ip_network(u'%s' % params['service_cidr'])
            inside = ipaddress.ip_address(u'%s' % params['dns_service_ip']) in service
        except ValueError as exc:
            invalid(module, 'service_cidr', 'service_cidr and dns_service_ip go together (%s)' % exc,
                    'Give a range and an address inside it, for example 10.200.0.0/16 and 10.200.0.10')
        if not inside:
            invalid(module, 'dns_service_ip', '%s is outside service_cidr %s' % (
                params['dns_service_ip'], params['service_cidr']), 'Pick an address inside service_cidr')
    if params['state'] == 'present':
        for option in ('dns_prefix', 'location', 'node_pools'):
            if not params[option]:
                invalid(module, option, 'it is required with state=present', 'Set %s' % option)


def pool_body(pool, current_pools):
    scaling = pool['enable_auto_scaling']
    count = pool['count']
    if scaling:
        # The autoscaler owns the count: keep Azure's (within the new bounds), or start at min_count. A PUT
        # always carries it, as `az aks update` does, so a pool is never reset to the API's default of 1.
        have = (current_pools.get(pool['name']) or {}).get('count')
        count = pool['min_count'] if have is None else min(max(have, pool['min_count']), pool['max_count'])
    return {
        'name': pool['name'], 'vmSize': pool['vm_size'], 'mode': pool['mode'], 'osType': 'Linux',
        'type': 'VirtualMachineScaleSets', 'enableAutoScaling': scaling,
        'count': count,
        'minCount': pool['min_count'], 'maxCount': pool['max_count'],
        'vnetSubnetID': pool['vnet_subnet_id'], 'availabilityZones': pool['availability_zones'],
        'maxPods': pool['max_pods'],
    }


def desired_body(params, current):
    provider = params['key_vault_secrets_provider']
    ranges = params['authorized_ip_ranges']
    current_pools = dict((p.get('name'), p) for p in
                         ((current or {}).get('properties') or {}).get('agentPoolProfiles') or [])
    identity = {'type': 'SystemAssigned'}
    if params['identity_id']:
        identity = {'type': 'UserAssigned', 'userAssignedIdentities': {params['identity_id']: {}}}
    return {
        'location': params['location'],
        'tags': params['tags'],
        'identity': identity,
        'sku': None if params['sku_tier'] is None else {'name': 'Base', 'tier': params['sku_tier']},
        'properties': {
            'dnsPrefix': params['dns_prefix'],
            'kubernetesVersion': params['kubernetes_version'],
            'enableRBAC': True,
            'agentPoolProfiles': [pool_body(p, current_pools) for p in params['node_pools'] or []] or None,
            'networkProfile': {'networkPlugin': params['network_plugin'], 'networkPolicy': params['network_policy'],
                               'serviceCidr': params['service_cidr'], 'dnsServiceIP': params['dns_service_ip']},
            'oidcIssuerProfile': {'enabled': params['oidc_issuer']},
            'securityProfile': {'workloadIdentity': {'enabled': params['workload_identity']}},
            'addonProfiles': None if provider is None else {'azureKeyvaultSecretsProvider': {
                'enabled': provider['enabled'], 'config': {
                    'enableSecretRotation': str(provider['enable_secret_rotation']).lower(),
                    'rotationPollInterval': provider['rotation_poll_interval']}}},
            'apiServerAccessProfile': None if params['private_cluster'] is None and ranges is None else {
                'enablePrivateCluster': params['private_cluster'], 'authorizedIPRanges': ranges},
            'identityProfile': None if not params['kubelet_identity_id'] else {
                'kubeletidentity': {'resourceId': params['kubelet_identity_id']}},
        },
    }


def refuse_oidc_off(params, current, resource):
    was_on = ((current or {}).get('properties') or {}).get('oidcIssuerProfile', {}).get('enabled') is True
    if was_on and params['oidc_issuer'] is False and params['state'] == 'present':
        raise AzureOperationError('update %s' % resource.label(), code='ImmutableField',
                                  message='the OIDC issuer is on and Azure cannot turn it off',
                                  hint='keep oidc_issuer=true')


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            name=dict(type='str', required=True),
            location=dict(type='str'),
            tags=dict(type='dict'),
            dns_prefix=dict(type='str'),
            kubernetes_version=dict(type='str'),
            sku_tier=dict(type='str', choices=['Free', 'Standard', 'Premium']),
            node_pools=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                vm_size=dict(type='str', required=True),
                count=dict(type='int', default=1),
                enable_auto_scaling=dict(type='bool', default=False),
                min_count=dict(type='int'),
                max_count=dict(type='int'),
                mode=dict(type='str', default='System', choices=['System', 'User']),
                vnet_subnet_id=dict(type='str'),
                availability_zones=dict(type='list', elements='str'),
                max_pods=dict(type='int'),
            )),
            network_plugin=dict(type='str', default='azure', choices=['azure', 'kubenet', 'none']),
            network_policy=dict(type='str', choices=['azure', 'calico', 'cilium', 'none']),
            service_cidr=dict(type='str'),
            dns_service_ip=dict(type='str'),
            oidc_issuer=dict(type='bool', default=True),
            workload_identity=dict(type='bool', default=True),
            key_vault_secrets_provider=dict(type='dict', no_log=False, options=dict(
                enabled=dict(type='bool', default=True),
                enable_secret_rotation=dict(type='bool', default=True),
                rotation_poll_interval=dict(type='str'),
            )),
            private_cluster=dict(type='bool'),
            authorized_ip_ranges=dict(type='list', elements='str'),
            identity_id=dict(type='str'),
            kubelet_identity_id=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        sdks=['containerservice'],
    )
    check_input(module)
    params = module.params
    clients = clients_for(module)
    clusters = clients.get('containerservice').managed_clusters
    group, name = params['resource_group'], params['name']

    resource = ArmResource(
        'AKS cluster', name,
        read=lambda: clusters.get(group, name, cls=raw_json),
        create=lambda body: clusters.begin_create_or_update(group, name, body, cls=raw_json),
        delete=lambda: clusters.begin_delete(group, name),
        read_only=['properties.fqdn', 'properties.privateFQDN', 'properties.azurePortalFQDN', 'properties.powerState',
                   'properties.currentKubernetesVersion', 'properties.maxAgentPools', 'properties.resourceUID',
                   'properties.oidcIssuerProfile.issuerURL', 'identity.principalId', 'identity.tenantId'],
        immutable=['location', 'properties.dnsPrefix', 'properties.networkProfile.networkPlugin',
                   'properties.apiServerAccessProfile.enablePrivateCluster', 'properties.identityProfile'],
        # Not exact on identity.userAssignedIdentities: ARM fills each entry (principalId, clientId) and exact
        # compares those values too; AKS takes one identity, so a different one still shows as a change.
        exact=['tags'],
        parent=group_parent(clients, group),
    )
    engine = engine_for(module)
    try:
        current = engine.current(resource)
        if params['state'] == 'absent':
            result = engine.absent(resource, current, have_current=True)
        else:
            refuse_oidc_off(params, current, resource)
            refuse_vm_size_change(params, current, resource)
            result = engine.present(resource, desired_body(params, current), current, have_current=True)
    except AzureOperationError as exc:
        fail(module, exc)
    found = result['resource'] or {}
    props = found.get('properties') or {}
    kubelet = (props.get('identityProfile') or {}).get('kubeletidentity') or {}
    module.exit_json(
        id=found.get('id') or '',
        oidc_issuer_url=(props.get('oidcIssuerProfile') or {}).get('issuerURL') or '',
        fqdn=props.get('privateFQDN') or props.get('fqdn') or '',
        kubelet_identity={'client_id': kubelet.get('clientId') or '', 'object_id': kubelet.get('objectId') or '',
                          'resource_id': kubelet.get('resourceId') or ''},
        node_resource_group=props.get('nodeResourceGroup') or '',
        **result)


def refuse_vm_size_change(params, current, resource):
    pools = dict((p.get('name'), p) for p in ((current or {}).get('properties') or {}).get('agentPoolProfiles') or [])
    for pool in params['node_pools'] or []:
        have = (pools.get(pool['name']) or {}).get('vmSize')
        if have and have.lower() != pool['vm_size'].lower():
            raise AzureOperationError(
                'update %s' % resource.label(), code='ImmutableField',
                message='the VM size of node pool %r cannot change (Azure has %s, the task asks %s)' % (
                    pool['name'], have, pool['vm_size']),
                hint='add a new pool with the new size, move the workloads, then remove the old pool')


if __name__ == '__main__':
    main()
