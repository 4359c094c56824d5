# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The cluster an extension resource (cluster extension, Flux configuration) lives on.
    DOCUMENTATION = r'''
options:
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  cluster_name:
    description: Name of the cluster. It must exist; a missing cluster fails before any write, in check mode too.
    type: str
    required: true
  cluster_type:
    description: V(connectedClusters) for an Arc-connected cluster, V(managedClusters) for AKS.
    type: str
    default: connectedClusters
    choices: [connectedClusters, managedClusters]
'''
