#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: orthanc_container_env
short_description: Orthanc's container environment (ORTHANC__* variables) with every secret as a secret reference
version_added: 0.1.0
description:
  - Builds Orthanc's configuration with the collection's one model of it (the inputs of
    M(medimaging.orthanc.orthanc_config)) and returns it in its container form, the C(ORTHANC__SECTION__KEY)
    variables the project's image reads, as a list ready for M(medimaging.orthanc.azure_container_app)'s
    C(containers[].env).
  - Every variable that holds a secret (passwords, client secrets, C(RegisteredUsers), connection strings) must be
    named in O(secret_refs) and comes back as a C(secret_ref) instead of a value; one left out fails the task, so no
    secret lands in plain text in an app's configuration.
  - Computes only; changes nothing (always C(changed=false)). Secret values given in O(configuration) are never
    returned nor logged.
author:
  - medimaging.orthanc contributors (@medimaging)
options:
  configuration:
    description:
      - The inputs of M(medimaging.orthanc.orthanc_config) (C(name), C(users), C(postgresql), C(dicomweb), C(python),
        C(extra)...), as a dict. C(storage_dir) defaults to the image's C(/var/lib/orthanc/db), C(http_port) to 8042,
        C(dicom_port) to 4242 and C(remote_access_allowed) to true (the container is reached through its ingress).
    type: dict
    required: true
  secret_refs:
    description: The secret name of each variable holding a secret (variable -> secret name), such as
      C(ORTHANC__POSTGRESQL__PASSWORD) -> C(postgresql-password).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Orthanc's environment, secrets from the app's Key Vault references
  medimaging.orthanc.orthanc_container_env:
    configuration:
      users: "{{ {'admin': orthanc_admin_password} }}"
      postgresql: {enabled: true, host: pg.example.org, database: orthanc, username: orthanc,
                   password: "{{ pg_password }}", ssl: true, lock: false}
    secret_refs:
      ORTHANC__REGISTERED_USERS: orthanc-users
      ORTHANC__POSTGRESQL__PASSWORD: postgresql-password
  register: orthanc_env
"""

RETURN = r"""
env:
  description: The variables in name order, each C({name, value}) or C({name, secret_ref}).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "ORTHANC__HTTP_PORT", "value": "8042"}, {"name": "ORTHANC__POSTGRESQL__PASSWORD",
           "secret_ref": "postgresql-password"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_config import (
    OrthancConfigError, build_config, to_env)
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_secrets import mask_env

CONTAINER_DEFAULTS = {"storage_dir": "/var/lib/orthanc/db", "http_port": 8042, "dicom_port": 4242,
                      "remote_access_allowed": True}


def container_env(spec, secret_refs):
    """[{name, value} | {name, secret_ref}] of the configuration spec describes; OrthancConfigError on a secret left
    in plain text or a reference to a variable the configuration does not have."""
    variables = to_env(build_config(dict(CONTAINER_DEFAULTS, **spec)))
    unknown = sorted(set(secret_refs) - set(variables))
    if unknown:
        raise OrthancConfigError("secret_refs names %s, which the configuration does not produce (it has %s)" % (
            ", ".join(unknown), ", ".join(sorted(variables))))
    masked = mask_env(variables, salt=b"container-env")
    plain = sorted(name for name in variables if name not in secret_refs and masked[name] != variables[name])
    if plain:
        raise OrthancConfigError("%s would hold a secret in plain text: name each in secret_refs (the secret it "
                                 "comes from)" % ", ".join(plain))
    return [{"name": name, "secret_ref": secret_refs[name]} if name in secret_refs
            else {"name": name, "value": variables[name]} for name in sorted(variables)]


def main():
    module = AnsibleModule(argument_spec=dict(
        configuration=dict(type="dict", required=True, no_log=True),
        secret_refs=dict(type="dict", default={}, no_log=False),
    ), supports_check_mode=True)
    try:
        env = container_env(module.params["configuration"], module.params["secret_refs"])
    except OrthancConfigError as err:
        module.fail_json(msg="invalid Orthanc configuration input: %s" % err)
    # no_log on configuration blanks each of its values wherever it appears (a port, a host name); the output holds
    # no secret (container_env refuses one), so only values the output does not carry stay blanked.
    shown = set(item.get("value") for item in env)
    module.no_log_values = set(value for value in module.no_log_values if value not in shown)
    module.exit_json(changed=False, env=env)


if __name__ == "__main__":
    main()
