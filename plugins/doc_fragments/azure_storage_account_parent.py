# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The parent account of the modules that manage something in an Azure storage account
    # (azure_blob_container, azure_storage_blob_service_properties, azure_storage_management_policy).
    DOCUMENTATION = r'''
options:
  resource_group:
    description: Resource group of the account. It must exist; a missing group (or account) fails before any write, in check mode too.
    type: str
    required: true
  account:
    description: Storage account name.
    type: str
    required: true
'''
