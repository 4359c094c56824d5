# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Region and tags of a top-level Azure resource. Every module that extends it requires location with
    # state=present, refuses to change it on an existing resource and compares tags exactly.
    DOCUMENTATION = r'''
options:
  location:
    description: Azure region, for example C(westeurope) (letters, digits and single spaces). Required to create; cannot change afterwards.
    type: str
  tags:
    description: Tags. When set, the resource carries exactly these tags.
    type: dict
'''
