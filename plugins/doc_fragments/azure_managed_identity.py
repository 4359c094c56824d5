# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The managed identity of a resource that can have one; the module compares the user-assigned identities exactly.
    DOCUMENTATION = r'''
options:
  identity:
    description: Managed identity of the resource.
    type: dict
    suboptions:
      type:
        description: Identity type.
        type: str
        required: true
        choices: ['None', SystemAssigned, UserAssigned, 'SystemAssigned,UserAssigned']
      user_assigned_identities:
        description: Resource ids of user-assigned identities.
        type: list
        elements: str
'''
