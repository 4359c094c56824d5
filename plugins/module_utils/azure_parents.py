# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containers a resource lives in, declared as ArmResource parents.

The engine reads them only when the resource itself is missing (so a create, never a no-op), and a missing
group, workspace, server or account fails with its name, in check mode too, instead of a PUT ARM refuses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import ArmResource, raw_json


def group_parent(clients, group):
    client = clients.get('resource')
    return ArmResource('resource group', group, read=lambda: client.resource_groups.get(group, cls=raw_json))


def workspace_parent(clients, group, workspace):
    client = clients.get('healthcareapis')
    return ArmResource('Health Data Services workspace', workspace, parent=group_parent(clients, group),
                       read=lambda: client.workspaces.get(group, workspace, cls=raw_json))


def postgresql_server_parent(clients, group, server):
    client = clients.get('postgresql_flexible')
    return ArmResource('PostgreSQL flexible server', server, parent=group_parent(clients, group),
                       read=lambda: client.servers.get(group, server, cls=raw_json))


def storage_account_parent(clients, group, account):
    client = clients.get('storage')
    return ArmResource('storage account', account, parent=group_parent(clients, group),
                       read=lambda: client.storage_accounts.get_properties(group, account, cls=raw_json))


def identity_parent(clients, group, identity):
    client = clients.get('msi')
    return ArmResource('user-assigned identity', identity, parent=group_parent(clients, group),
                       read=lambda: client.user_assigned_identities.get(group, identity, cls=raw_json))
