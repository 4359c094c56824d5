# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One deep merge for the collection: Orthanc configuration layers and Azure desired state both use it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy


def deep_merge(base, overlay):
    """A copy of base with overlay on top: dicts merge recursively, everything else (lists included) replaces.
    A base that is not a dict counts as empty; a missing overlay changes nothing."""
    merged = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
