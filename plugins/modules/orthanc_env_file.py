#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: orthanc_env_file
short_description: Write Orthanc's environment file (NAME=value lines) with a diff that never shows a secret
version_added: 0.1.0
description:
  - Writes an environment file such as the one Orthanc's service reads (systemd C(EnvironmentFile) or the role's
    supervisor), atomically, from text rendered by the caller (usually a template lookup).
  - The diff and the result show every variable with its secrets masked by the same rules as M(medimaging.orthanc.orthanc_config)
    (names like C(*_SECRET), C(*_PASSWORD), C(*_TOKEN), C(*_CONNECTION_STRING); JSON values such as
    C(ORTHANC__REGISTERED_USERS) by their structure; passwords inside URIs). A mask carries a fingerprint valid for
    that run only, so a rotated secret shows as changed without either value.
author:
  - medimaging.orthanc contributors (@medimaging)
options:
  dest:
    description: Path of the environment file.
    type: path
    required: true
  state:
    description: C(present) writes the file, C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  content:
    description:
      - The whole file, C(NAME=value) lines (values may be shell-quoted), comments and blank lines.
      - Required when O(state=present). Never logged nor returned.
    type: str
  owner:
    description: Owner of the file.
    type: str
  group:
    description: Group of the file (the Orthanc service group reads it).
    type: str
  mode:
    description: Permissions of the file. It may hold secrets, so keep it private to the service.
    type: raw
    default: "0640"
notes:
  - Check mode reports what would change, with a masked diff, and writes nothing.
"""

EXAMPLES = r"""
- name: Write Orthanc's environment
  medimaging.orthanc.orthanc_env_file:
    dest: /etc/orthanc-medimaging/main/orthanc.env
    content: "{{ lookup('ansible.builtin.template', 'orthanc.env.j2') }}"
    owner: root
    group: orthanc
    mode: "0640"
"""

RETURN = r"""
path:
  description: The environment file.
  returned: always
  type: str
  sample: /etc/orthanc-medimaging/main/orthanc.env
variables:
  description: The variables written (or that would be written), secrets masked.
  returned: when state is present
  type: dict
  sample: {"TCP_NODELAY": "1", "AZURE_CLIENT_SECRET": "********"}
"""

import os
import re
import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_secrets import mask_env, mask_string
from ansible_collections.medimaging.orthanc.plugins.module_utils.private_file import (
    read_text, set_attributes, write_atomically)

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def parse_value(raw):
    """The value a shell (or systemd) would see for a possibly quoted right-hand side."""
    try:
        words = shlex.split(raw, comments=False, posix=True)
    except ValueError:
        return raw
    return " ".join(words)


def masked_lines(text, salt):
    """The file as the diff shows it: every assignment NAME=value with its secrets masked; comments kept."""
    if text is None:
        return ""
    lines = []
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match:
            name, value = match.group(1), parse_value(match.group(2))
            lines.append("%s=%s" % (name, mask_env({name: value}, salt)[name]))
        else:
            lines.append(mask_string(line, salt))
    return "\n".join(lines) + "\n"


def variables(text):
    found = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match:
            found[match.group(1)] = parse_value(match.group(2))
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(dest=dict(type="path", required=True),
                           state=dict(type="str", choices=["present", "absent"], default="present"),
                           content=dict(type="str", no_log=True),
                           owner=dict(type="str"), group=dict(type="str"), mode=dict(type="raw", default="0640")),
        required_if=[("state", "present", ("content",))],
        supports_check_mode=True)
    params = module.params
    dest = params["dest"]
    current = read_text(dest)
    text = None if params["state"] == "absent" else params["content"]
    if text is not None and not text.endswith("\n"):
        text += "\n"
    changed = current != text
    result = dict(changed=changed, path=dest)
    if text is not None:
        result["variables"] = mask_env(variables(text))
    if module._diff and changed:
        salt = os.urandom(16)  # this run only, never shown: a rotated secret shows a new fingerprint, not its value
        result["diff"] = dict(before=masked_lines(current, salt), after=masked_lines(text, salt),
                              before_header=dest, after_header=dest)
    if changed and not module.check_mode:
        if text is None:
            os.remove(dest)
        else:
            write_atomically(module, dest, text)
    if text is not None and (not module.check_mode or not changed):
        result["changed"] = set_attributes(module, dest, params["owner"], params["group"], params["mode"], changed)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
