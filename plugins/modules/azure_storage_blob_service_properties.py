#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: azure_storage_blob_service_properties
short_description: Set data-protection properties of a storage account's blob service
version_added: 0.1.0
description:
  - Soft delete for blobs and containers, versioning and the change feed, the recovery net of an image archive.
  - The blob service always exists with its account, so there is no C(state=absent); switch features off instead.
options:
  blob_soft_delete_days:
    description: Keep deleted blobs this many days (1-365); V(0) turns blob soft delete off.
    type: int
  container_soft_delete_days:
    description: Keep deleted containers this many days (1-365); V(0) turns container soft delete off.
    type: int
  versioning:
    description: Keep previous versions of overwritten blobs.
    type: bool
  change_feed:
    description: Log every change to blobs.
    type: bool
  change_feed_retention_days:
    description: Days the change feed is kept (1-146000); unset keeps it forever.
    type: int
extends_documentation_fragment:
  - medimaging.orthanc.azure_auth
  - medimaging.orthanc.azure_storage_account_parent
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Recovery net for the archive
  medimaging.orthanc.azure_storage_blob_service_properties:
    resource_group: rg-imaging-prod
    account: stimagingarchive
    blob_soft_delete_days: 30
    container_soft_delete_days: 30
    versioning: true
    change_feed: true
'''

RETURN = r'''
resource:
  description: The blob service properties as ARM returns them.
  returned: always
  type: dict
  sample:
    properties:
      deleteRetentionPolicy: {enabled: true, days: 30}
      isVersioningEnabled: true
'''

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_module import (
    azure_module, check_name, clients_for, converge, invalid)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_parents import storage_account_parent


def _retention(days):
    if days is None:
        return None
    return {'enabled': True, 'days': days} if days > 0 else {'enabled': False}


def main():
    module = azure_module(
        dict(
            resource_group=dict(type='str', required=True),
            account=dict(type='str', required=True),
            blob_soft_delete_days=dict(type='int'),
            container_soft_delete_days=dict(type='int'),
            versioning=dict(type='bool'),
            change_feed=dict(type='bool'),
            change_feed_retention_days=dict(type='int'),
        ),
        sdks=['storage'],
    )
    check_name(module, 'account', 'storage_account')
    params = module.params
    for option in ('blob_soft_delete_days', 'container_soft_delete_days'):
        if params[option] is not None and not 0 <= params[option] <= 365:
            invalid(module, option, '%s is outside 0..365' % params[option], 'Use 1-365 days, or 0 to turn it off')
    clients = clients_for(module)
    blob_services = clients.get('storage').blob_services
    group, account = params['resource_group'], params['account']
    feed = None
    if params['change_feed'] is not None:
        feed = {'enabled': params['change_feed'],
                'retentionInDays': params['change_feed_retention_days'] if params['change_feed'] else None}

    resource = ArmResource(
        'blob service of storage account', account,
        read=lambda: blob_services.get_service_properties(group, account, cls=raw_json),
        create=lambda body: blob_services.set_service_properties(group, account, body, cls=raw_json),
        read_only=['sku'],
        parent=storage_account_parent(clients, group, account),
    )
    desired = {'properties': {
        'deleteRetentionPolicy': _retention(params['blob_soft_delete_days']),
        'containerDeleteRetentionPolicy': _retention(params['container_soft_delete_days']),
        'isVersioningEnabled': params['versioning'],
        'changeFeed': feed,
    }}
    module.exit_json(**converge(module, resource, desired))


if __name__ == '__main__':
    main()
