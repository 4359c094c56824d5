# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure naming rules, checked before any call so a bad name fails fast with the rule spelled out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# kind -> (regex, the rule in words). From the ARM API specs' name patterns.
RULES = {
    'healthcare': (r'^[a-z0-9][a-z0-9-]{1,21}[a-z0-9]$',
                   '3-24 characters: lower-case letters, digits and hyphens, not starting or ending with a hyphen'),
    'storage_account': (r'^[a-z0-9]{3,24}$', '3-24 characters: lower-case letters and digits only'),
    'blob_container': (r'^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$',
                       '3-63 characters: lower-case letters, digits and single hyphens, '
                       'starting and ending with a letter or digit'),
    'postgresql_server': (r'^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$',
                          '3-63 characters: lower-case letters, digits and hyphens, '
                          'not starting or ending with a hyphen'),
    'postgresql_database': (r'^[A-Za-z_][A-Za-z0-9_$-]{0,62}$',
                            '1-63 characters starting with a letter or underscore'),
}


def name_problem(kind, value):
    """None when value follows the rule for kind, else the rule in words."""
    pattern, words = RULES[kind]
    if value is None or not re.match(pattern, value):
        return words
    return None
