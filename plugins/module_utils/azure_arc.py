# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Arc modules share: resource ids and the cluster that extensions and Flux configurations live on.

Extensions and Flux configurations are extension resources of a cluster
(.../{Microsoft.Kubernetes/connectedClusters|Microsoft.ContainerService/managedClusters}/{name}/providers/
Microsoft.KubernetesConfiguration/...): the SDK calls take the cluster's provider, type and name, and the cluster is
their parent (a missing one fails before any write, in check mode too).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import group_parent

# cluster_type option -> (cluster_rp, cluster_resource_name) as the KubernetesConfiguration SDKs take them.
CLUSTER_TYPES = {
    'connectedClusters': ('Microsoft.Kubernetes', 'connectedClusters'),
    'managedClusters': ('Microsoft.ContainerService', 'managedClusters'),
}

CLUSTER_OPTIONS = dict(
    resource_group=dict(type='str', required=True),
    cluster_name=dict(type='str', required=True),
    cluster_type=dict(type='str', default='connectedClusters', choices=sorted(CLUSTER_TYPES)),
)


def connected_cluster_id(subscription_id, group, name):
    return '/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Kubernetes/connectedClusters/%s' % (
        subscription_id, group, name)


def cluster_args(params):
    """(resource_group, cluster_rp, cluster_resource_name, cluster_name): the first arguments of every call."""
    provider, kind = CLUSTER_TYPES[params['cluster_type']]
    return (params['resource_group'], provider, kind, params['cluster_name'])


def cluster_parent(clients, params):
    group, name = params['resource_group'], params['cluster_name']
    if params['cluster_type'] == 'managedClusters':
        client = clients.get('containerservice').managed_clusters
        label = 'AKS cluster'
    else:
        client = clients.get('hybridkubernetes').connected_cluster
        label = 'Arc connected cluster'
    return ArmResource(label, name, parent=group_parent(clients, group),
                       read=lambda: client.get(group, name, cls=raw_json))


def string_settings(module, option, settings):
    """ARM takes {str: str}: booleans become 'true'/'false', numbers their text; nested values are refused."""
    if settings is None:
        return None
    out = {}
    for key, value in settings.items():
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        elif isinstance(value, (int, float)):
            value = str(value)
        elif not isinstance(value, str):
            module.fail_json(msg='Invalid %s: the value of %r is a %s; Azure takes strings only. Flatten it into '
                             'dotted keys (a.b.c: value).' % (option, key, type(value).__name__))
        out[key] = value
    return out
