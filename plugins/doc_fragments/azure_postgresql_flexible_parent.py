# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The parent server of the modules that manage something on an Azure PostgreSQL flexible server
    # (azure_postgresql_flexible_configuration, _database, _firewall_rule).
    DOCUMENTATION = r'''
options:
  resource_group:
    description: Resource group of the server. It must exist; a missing group (or server) fails before any write, in check mode too.
    type: str
    required: true
  server:
    description: Name of the flexible server.
    type: str
    required: true
'''
