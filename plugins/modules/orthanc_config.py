#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: orthanc_config
short_description: Write Orthanc's JSON configuration file from structured, validated inputs
version_added: 0.1.0
description:
  - Builds Orthanc's configuration with the collection's one model of it (the same model gives containers their
    C(ORTHANC__SECTION__KEY) environment variables), validates it and writes it atomically.
  - Secure by default; authentication on with the users you give (no default login), remote access off, Lua and
    file-system writes from REST off, logs de-identified.
  - Secrets never appear in the diff, the result or the logged arguments; they are masked by the configuration's
    structure (passwords and client secrets at any depth, C(RegisteredUsers), C(HttpHeaders), the list form of
    C(OrthancPeers) and C(DicomWeb.Servers), passwords inside URIs and connection strings). In the diff, a mask
    carries a fingerprint valid for that run only, so a rotated secret shows as changed without either value.
author:
  - medimaging.orthanc contributors (@medimaging)
options:
  dest:
    description: Path of the configuration file to write.
    type: path
    required: true
  state:
    description: C(present) writes the file, C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description: Owner of the file (the Orthanc service user reads it).
    type: str
  group:
    description: Group of the file.
    type: str
  mode:
    description: Permissions of the file. It holds passwords, so keep it private to the service.
    type: raw
    default: "0640"
  name:
    description: Orthanc's logical name, shown in Orthanc Explorer and C(/system).
    type: str
    default: Orthanc
  storage_dir:
    description: Folder of the DICOM files (and of the SQLite index when PostgreSQL is not used). Required with C(state=present).
    type: path
  index_dir:
    description: Folder of the SQLite index; defaults to I(storage_dir).
    type: path
  http_port:
    description: HTTP (REST, DICOMweb) port.
    type: int
    default: 8042
  dicom_port:
    description: DICOM port.
    type: int
    default: 4242
  dicom_aet:
    description: Orthanc's DICOM AE title; 1 to 16 characters among letters, digits, space, C(_), C(.), C(-).
    type: str
    default: ORTHANC
  dicom_check_called_aet:
    description: Refuse associations whose called AE title is not I(dicom_aet).
    type: bool
    default: false
  dicom_modalities:
    description: Orthanc's C(DicomModalities) section (name -> [AET, host, port] or an object).
    type: dict
  remote_access_allowed:
    description: Accept HTTP clients from other hosts. Off by default; turn on only behind authentication and TLS.
    type: bool
    default: false
  authentication_enabled:
    description: Require HTTP basic authentication with I(users).
    type: bool
    default: true
  users:
    description:
      - User name -> password for HTTP basic authentication. Required while I(authentication_enabled) is true.
      - Passwords need at least 8 characters; Orthanc's well-known C(orthanc/orthanc) is refused.
    type: dict
  maximum_storage_cache_size_mb:
    description: Orthanc's C(MaximumStorageCacheSize) in MB; C(0) turns the cache off (the lab measured 4-9x lower RSS).
    type: int
    default: 0
  stable_age:
    description: Seconds without new instances after which a study is stable (routing starts then).
    type: int
    default: 60
  concurrent_jobs:
    description: Orthanc's C(ConcurrentJobs).
    type: int
    default: 2
  http_threads:
    description: Orthanc's C(HttpThreadsCount).
    type: int
    default: 50
  plugins:
    description: Paths of the plugin shared libraries (or folders) to load.
    type: list
    elements: path
    default: []
  postgresql:
    description: The PostgreSQL index (and optionally storage).
    type: dict
    suboptions:
      enabled:
        description: Use PostgreSQL as the index.
        type: bool
        default: false
      host:
        description: Server host name.
        type: str
      port:
        description: Server port.
        type: int
        default: 5432
      database:
        description: Database name.
        type: str
      username:
        description: Login role.
        type: str
      password:
        description: Password of I(username).
        type: str
      ssl:
        description: Require TLS to the server.
        type: bool
        default: false
      lock:
        description: Lock the database to this Orthanc; turn off when several Orthancs share it.
        type: bool
        default: true
      enable_storage:
        description: Also store DICOM files in PostgreSQL (large objects).
        type: bool
        default: false
  dicomweb:
    description: The DICOMweb plugin's settings.
    type: dict
    suboptions:
      enabled:
        description: Serve DICOMweb.
        type: bool
        default: true
      root:
        description: Root path of the DICOMweb API.
        type: str
        default: /dicom-web/
      ssl:
        description: Advertise https in the URLs DICOMweb returns.
        type: bool
        default: false
  python:
    description: The Python plugin's script and the configuration sections it reads.
    type: dict
    suboptions:
      script:
        description: Path of the Python script Orthanc loads.
        type: path
      verbose:
        description: Verbose Python interpreter.
        type: bool
        default: false
      sections:
        description: Extra top-level configuration sections for the script (for example C(DicomWebOAuth)).
        type: dict
  https:
    description: HTTPS for the REST API.
    type: dict
    suboptions:
      enabled:
        description: Serve HTTPS instead of HTTP.
        type: bool
        default: false
      certificate_bundle:
        description: One PEM file with the certificate chain and its private key, readable by the service user.
        type: path
  dicom_tls:
    description: DICOM TLS.
    type: dict
    suboptions:
      enabled:
        description: Require TLS on the DICOM port.
        type: bool
        default: false
      certificate:
        description: PEM certificate.
        type: path
      private_key:
        description: PEM private key.
        type: path
      trusted_certificates:
        description: PEM bundle of the remote modalities' certificates (or their CA).
        type: path
      remote_certificate_required:
        description: Require a client certificate from remote modalities.
        type: bool
        default: true
  https_ca_certificates:
    description:
      - PEM bundle of the CAs that Orthanc's outgoing HTTPS client trusts (DICOMweb servers, peers).
      - Peer verification stays on; give the cloud's or your proxy's CA here rather than turning it off.
    type: path
  extra:
    description: Raw Orthanc settings merged last (deep merge), for anything the options above do not cover.
    type: dict
    default: {}
notes:
  - Check mode reports what would change, with a diff, and writes nothing.
seealso:
  - name: Orthanc configuration
    description: The Orthanc Book's reference of every setting.
    link: https://orthanc.uclouvain.be/book/users/configuration.html
"""

EXAMPLES = r"""
- name: Configure an on-prem Orthanc indexed in PostgreSQL
  medimaging.orthanc.orthanc_config:
    dest: /etc/orthanc-medimaging/main/orthanc.json
    owner: orthanc
    group: orthanc
    storage_dir: /var/lib/orthanc-medimaging/main/storage
    dicom_aet: HOSPITALPACS
    users:
      radiology: "{{ vault_orthanc_password }}"
    postgresql:
      enabled: true
      host: db.hospital.example
      database: orthanc
      username: orthanc
      password: "{{ vault_pg_password }}"
    plugins:
      - /usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so
      - /usr/share/orthanc/plugins/libOrthancDicomWeb.so
"""

RETURN = r"""
path:
  description: The configuration file.
  returned: always
  type: str
  sample: /etc/orthanc-medimaging/main/orthanc.json
config:
  description: The configuration written (or that would be written), secrets masked.
  returned: when state is present
  type: dict
  sample: {"DicomAet": "HOSPITALPACS", "RegisteredUsers": {"radiology": "********"}}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_config import (
    OrthancConfigError, build_config, masked)
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_secrets import MASK
from ansible_collections.medimaging.orthanc.plugins.module_utils.private_file import (
    read_text, set_attributes, write_atomically)

SPEC_KEYS = ("name", "storage_dir", "index_dir", "http_port", "dicom_port", "dicom_aet", "dicom_check_called_aet",
             "dicom_modalities", "remote_access_allowed", "authentication_enabled", "users",
             "maximum_storage_cache_size_mb", "stable_age", "concurrent_jobs", "http_threads", "plugins",
             "postgresql", "dicomweb", "python", "https", "dicom_tls", "https_ca_certificates", "extra")


def argument_spec():
    return dict(
        dest=dict(type="path", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        owner=dict(type="str"),
        group=dict(type="str"),
        mode=dict(type="raw", default="0640"),
        name=dict(type="str", default="Orthanc"),
        storage_dir=dict(type="path"),
        index_dir=dict(type="path"),
        http_port=dict(type="int", default=8042),
        dicom_port=dict(type="int", default=4242),
        dicom_aet=dict(type="str", default="ORTHANC"),
        dicom_check_called_aet=dict(type="bool", default=False),
        dicom_modalities=dict(type="dict"),
        remote_access_allowed=dict(type="bool", default=False),
        authentication_enabled=dict(type="bool", default=True),
        users=dict(type="dict", no_log=True),
        maximum_storage_cache_size_mb=dict(type="int", default=0),
        stable_age=dict(type="int", default=60),
        concurrent_jobs=dict(type="int", default=2),
        http_threads=dict(type="int", default=50),
        plugins=dict(type="list", elements="path", default=[]),
        postgresql=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=False),
            host=dict(type="str"),
            port=dict(type="int", default=5432),
            database=dict(type="str"),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            ssl=dict(type="bool", default=False),
            lock=dict(type="bool", default=True),
            enable_storage=dict(type="bool", default=False),
        )),
        dicomweb=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=True),
            root=dict(type="str", default="/dicom-web/"),
            ssl=dict(type="bool", default=False),
        )),
        python=dict(type="dict", options=dict(
            script=dict(type="path"),
            verbose=dict(type="bool", default=False),
            sections=dict(type="dict", no_log=True),
        )),
        https=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=False),
            certificate_bundle=dict(type="path"),
        )),
        dicom_tls=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=False),
            certificate=dict(type="path"),
            private_key=dict(type="path", no_log=False),
            trusted_certificates=dict(type="path"),
            remote_certificate_required=dict(type="bool", default=True),
        )),
        https_ca_certificates=dict(type="path"),
        extra=dict(type="dict", default={}, no_log=True),
    )


def masked_text(text, salt):
    """The file as the diff shows it: secrets masked with fingerprints (salt) that tell an old value from a new one."""
    if text is None:
        return ""
    try:
        return json.dumps(masked(json.loads(text), salt), indent=2, sort_keys=True) + "\n"
    except ValueError:
        return "(existing file is not valid JSON)\n"


def masked_invocation(params):
    """The module's arguments as -vvv shows them: sections, extra, modalities and servers can hold secrets too."""
    users = params.get("users")
    shown = dict(params, users=dict((name, MASK) for name in users) if isinstance(users, dict) else users)
    return dict(module_args=masked(shown))


def absent(module, dest):
    current = read_text(dest)
    result = dict(changed=current is not None, path=dest, invocation=masked_invocation(module.params))
    if module._diff:
        result["diff"] = dict(before=masked_text(current, None), after="", before_header=dest, after_header=dest)
    if current is not None and not module.check_mode:
        os.remove(dest)
    module.exit_json(**result)


def keep_outputs_readable(module):
    """no_log on the free-form dicts (python.sections, extra) keeps their secrets out of the host's log, where
    AnsibleModule writes its arguments; but it would also blank each of their values (a port, a path...) wherever it
    appears in the diff. Only the plain secrets stay blanked: the outputs are masked by structure (masked())."""
    params = module.params
    plain = set(str(value) for value in (params.get("users") or {}).values())
    plain.add(str((params.get("postgresql") or {}).get("password") or ""))
    module.no_log_values = set(value for value in module.no_log_values if value in plain)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "present", ("storage_dir",))])
    keep_outputs_readable(module)
    params = module.params
    dest = params["dest"]
    if params["state"] == "absent":
        absent(module, dest)

    spec = dict((key, params[key]) for key in SPEC_KEYS if params[key] is not None)
    try:
        config = build_config(spec)
    except OrthancConfigError as err:
        module.fail_json(msg="invalid Orthanc configuration input: %s" % err, invocation=masked_invocation(params))

    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    current = read_text(dest)
    changed = current != text
    result = dict(changed=changed, path=dest, config=masked(config), invocation=masked_invocation(params))
    if module._diff and changed:
        salt = os.urandom(16)  # this run only, never shown: a rotated secret shows a new fingerprint, not its value
        result["diff"] = dict(before=masked_text(current, salt), after=masked_text(text, salt), before_header=dest,
                              after_header=dest)
    if changed and not module.check_mode:
        write_atomically(module, dest, text, dict(invocation=masked_invocation(params)))
    if not module.check_mode or not changed:
        result["changed"] = set_attributes(module, dest, params["owner"], params["group"], params["mode"], changed)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
