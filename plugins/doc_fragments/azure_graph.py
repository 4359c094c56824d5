# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The Entra ID modules (Microsoft Graph v1.0); goes with medimaging.orthanc.azure_auth.credential.
    DOCUMENTATION = r'''
options:
  graph_endpoint:
    description:
      - Base URL of Microsoft Graph (with or without C(/v1.0)). Defaults to C(AZURE_GRAPH_ENDPOINT), else the cloud's Graph
        host (C(https://graph.microsoft.com) for V(AzureCloud)).
      - Tokens are always asked for the cloud's Graph audience (C(https://graph.microsoft.com/.default)); set this
        only for a proxy or a local emulator that serves Graph elsewhere.
    type: str
requirements:
  - python >= 3.9
  - azure-identity >= 1.17
  - requests >= 2.31
notes:
  - The identity running the task needs the Graph application permission C(Application.ReadWrite.All) (or the
    Application Administrator role).
'''
