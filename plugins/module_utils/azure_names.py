# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure naming rules, checked before any call so a bad name fails fast with the rule spelled out.

The one place a module asks "is this a valid X name?". Every rule is a full match (\\Z, not $): `$` also
matches before a trailing newline, and such a name once created resources that could not be deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

GUID_PATTERN = r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'

# kind -> (regex, the rule in words). From the ARM API specs' name patterns.
RULES = {
    'healthcare': (r'[a-z0-9][a-z0-9-]{1,21}[a-z0-9]',
                   '3-24 characters: lower-case letters, digits and hyphens, not starting or ending with a hyphen'),
    'storage_account': (r'[a-z0-9]{3,24}', '3-24 characters: lower-case letters and digits only'),
    'blob_container': (r'(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]',
                       '3-63 characters: lower-case letters, digits and single hyphens, '
                       'starting and ending with a letter or digit'),
    'postgresql_server': (r'[a-z0-9][a-z0-9-]{1,61}[a-z0-9]',
                          '3-63 characters: lower-case letters, digits and hyphens, '
                          'not starting or ending with a hyphen'),
    'postgresql_database': (r'[A-Za-z_][A-Za-z0-9_$-]{0,62}',
                            '1-63 characters starting with a letter or underscore'),
    'postgresql_firewall_rule': (r'[A-Za-z0-9_-]{1,128}', '1-128 characters: letters, digits, hyphens and underscores'),
    'postgresql_parameter': (r'[A-Za-z_][A-Za-z0-9_.]{0,127}',
                             'a server parameter name: letters, digits, underscores and dots'),
    # ARM allows Unicode letters too; the ASCII subset is what the lab and our roles use.
    'resource_group': (r'[-\w.()]{0,89}[-\w()]',
                       '1-90 characters: letters, digits, underscores, hyphens, periods and parentheses, '
                       'not ending with a period'),
    'management_policy_rule': (r'[A-Za-z0-9]{1,256}', '1-256 characters: letters and digits only'),
    'location': (r'[A-Za-z0-9]+( [A-Za-z0-9]+)*',
                 'a region name such as westeurope or "West Europe" (letters, digits, single spaces)'),
    'user_assigned_identity': (r'[A-Za-z0-9][A-Za-z0-9_-]{2,127}',
                               '3-128 characters: letters, digits, hyphens and underscores, starting with a letter '
                               'or digit'),
    'federated_credential': (r'[A-Za-z0-9][A-Za-z0-9_-]{2,119}',
                             '3-120 characters: letters, digits, hyphens and underscores, starting with a letter '
                             'or digit'),
    'key_vault': (r'(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]',
                  '3-24 characters: letters, digits and single hyphens, starting with a letter and ending with a '
                  'letter or digit'),
    'virtual_network': (r'[A-Za-z0-9]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?',
                        '1-64 characters: letters, digits, underscores, periods and hyphens, starting with a letter '
                        'or digit and ending with a letter, digit or underscore'),
    'subnet': (r'[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?',
               '1-80 characters: letters, digits, underscores, periods and hyphens, starting with a letter or digit '
               'and ending with a letter, digit or underscore'),
    'guid': (GUID_PATTERN, 'a GUID such as 00000000-0000-0000-0000-000000000000'),
}


def full_match(pattern, value, flags=0):
    """True when the whole of value matches pattern: no trailing newline slips through as with `$`."""
    return isinstance(value, str) and re.match(r'(?:%s)\Z' % pattern, value, flags) is not None


def name_problem(kind, value):
    """None when value follows the rule for kind, else the rule in words."""
    pattern, words = RULES[kind]
    if not full_match(pattern, value):
        return words
    return None
