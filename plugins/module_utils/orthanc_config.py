# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One model of Orthanc's configuration, in its two forms.

* JSON, as Orthanc reads it from a file (hosts): ``build_config()`` turns the collection's structured inputs into it.
* Environment variables, as the orthancteam/orthanc images read them (containers, Helm): ``to_env()`` turns the same
  JSON into ORTHANC__SECTION__KEY variables and ``from_env()`` reads them back, so one test proves both agree.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.dict_merge import deep_merge
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_secrets import mask_secrets

ENV_PREFIX = "ORTHANC"

# Names the orthancteam images spell differently from the mechanical CamelCase -> UPPER_SNAKE rule.
NON_STANDARD_ENV_NAMES = {
    "PostgreSQL": "POSTGRESQL",
    "MySQL": "MYSQL",
    "ODBC": "ODBC",
    "DicomWebOAuth": "DICOMWEB_OAUTH",
    "OrthancExplorer2": "ORTHANC_EXPLORER_2",
    "Gdcm": "GDCM",
}

# Sections whose keys are data (user names, server names), not settings: the container form carries them as one JSON
# value, because their keys cannot round-trip through UPPER_SNAKE.
JSON_VALUED_SECTIONS = frozenset(["RegisteredUsers", "DicomModalities", "OrthancPeers", "UserMetadata", "Servers"])
# ...except the plugin's maps of named entries, whose per-name variables are its documented container contract. A name
# cannot keep its case through an upper-case variable: read back, it is lower case, as the plugin names an entry only
# the environment defines (medimaging_plugin/config/schema.py); the plugin finds references to it ignoring case.
PER_NAME_SECTIONS = frozenset([("DicomWebOAuth", "Servers"), ("MedimagingRouter", "Destinations")])

# The environment every Orthanc process of the collection starts with (image entrypoint, orthanc_host's
# environment file, the lab): a user's own value for any of them wins.
# TCP_NODELAY: DCMTK then turns Nagle off (C-STORE measured 4-5x faster).
# MALLOC_*: glibc's default gives back any free heap above ~1 MiB after each DICOM-sized buffer is released, so
# the next instance's buffers page-fault again (~350 faults per 513 KiB WADO-RS read); with these two fixed,
# buffers up to 4 MiB come from the heap and up to 8 MiB of free heap per arena is kept (bench/orthanc_malloc.py).
PROCESS_ENVIRONMENT = {"TCP_NODELAY": "1", "MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "8388608"}

DICOM_AET_PATTERN = re.compile(r"[A-Za-z0-9 _.\-]{1,16}\Z")  # \Z: `$` would accept a trailing newline


class OrthancConfigError(ValueError):
    """An input cannot make a valid Orthanc configuration; the message names the input and what to do."""


def env_name(key):
    """'DicomAet' -> 'DICOM_AET', 'HttpsCACertificates' -> 'HTTPS_CA_CERTIFICATES', 'PostgreSQL' -> 'POSTGRESQL'.

    Words split where the case changes, an acronym run kept as one word. The plugin's names.env_name() is the same
    rule (it cannot import this file); tests/unit/orthanc_config/test_env_names.py is the table both answer."""
    if key in NON_STANDARD_ENV_NAMES:
        return NON_STANDARD_ENV_NAMES[key]
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", words)
    return words.upper()


def _env_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def to_env(config, prefix=ENV_PREFIX, _path=()):
    """Flatten an Orthanc JSON configuration into the container form: {'ORTHANC__HTTP_PORT': '8042', ...}."""
    env = {}
    for key, value in config.items():
        path = _path + (key,)
        name = prefix + "__" + (key.upper() if _is_per_name(_path) else env_name(key))
        if isinstance(value, dict) and (key not in JSON_VALUED_SECTIONS or _path + (key,) in PER_NAME_SECTIONS):
            env.update(to_env(value, name, path))
        else:
            env[name] = _env_value(value)
    return env


def _is_per_name(path):
    return len(path) >= 2 and tuple(path[-2:]) in PER_NAME_SECTIONS


def _known_names(config, _path=()):
    """{env name: JSON key} for every key in a reference configuration, to invert env_name()."""
    names = {}
    for key, value in config.items():
        names[env_name(key)] = key
        if isinstance(value, dict):
            names.update(_known_names(value, _path + (key,)))
    return names


def json_key(name):
    """'DICOM_AET' -> 'DicomAet', 'POSTGRESQL' -> 'PostgreSQL': the orthancteam images' rule (each word capitalized)
    with the names that rule cannot rebuild."""
    return _JSON_KEYS.get(name) or "".join(word.capitalize() for word in name.split("_"))


# Keys whose capitals do not follow word boundaries: UPPER_SNAKE -> CamelCase cannot rebuild them by rule.
_JSON_KEYS = dict((env_name(key), key) for key in list(NON_STANDARD_ENV_NAMES) + ["HttpsCACertificates"])


def _entry_name(reference, path, part):
    """A per-name variable's entry: the reference's entry at `path` equal ignoring case and punctuation, else the name
    in lower case (the plugin's rule for an entry only the environment defines)."""
    node = reference or {}
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    wanted = re.sub(r"[^a-z0-9]", "", part.lower())
    entries = node if isinstance(node, dict) else {}
    return next((name for name in entries if re.sub(r"[^a-z0-9]", "", name.lower()) == wanted), part.lower())


def from_env(env, reference=None, prefix=ENV_PREFIX, strict=True):
    """Rebuild the JSON configuration from container variables.

    `reference` (a configuration) supplies the CamelCase spellings; a name it lacks is an error when `strict` (the
    module: a typo must not pass), else spelled by json_key() as the orthancteam images do (the image's entrypoint).
    A variable may also carry a whole section as JSON (ORTHANC__POSTGRESQL='{...}'); deeper variables merge into it.
    """
    names = _known_names(reference or {})
    config = {}
    variables = sorted((v for v in env if v.startswith(prefix + "__")), key=lambda v: (v.count("__"), v))
    for variable in variables:
        parts = variable[len(prefix) + 2:].split("__")
        node, path = config, ()
        for depth, part in enumerate(parts):
            key = _entry_name(reference, path, part) if _is_per_name(path) else names.get(part)
            if key is None and not strict:
                key = json_key(part)
            if key is None:
                raise OrthancConfigError("unknown Orthanc setting %s in %s" % (part, variable))
            path += (key,)
            if depth == len(parts) - 1:
                value = _parse_env_value(env[variable])
                node[key] = deep_merge(node[key], value) if isinstance(value, dict) and isinstance(
                    node.get(key), dict) else value
            else:
                node = node.setdefault(key, {})
    return config


def _parse_env_value(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def masked(config, salt=None):
    """The configuration with every secret replaced, for diffs, results and logs (see orthanc_secrets)."""
    return mask_secrets(config, salt)


def _require(condition, message):
    if not condition:
        raise OrthancConfigError(message)


def _validate(spec):
    users = spec.get("users") or {}
    _require(not spec.get("authentication_enabled", True) or users,
             "users is empty while authentication is on: give at least one user name and password "
             "(Orthanc would otherwise fall back to no usable login); no default credentials are provided")
    for name, password in users.items():
        _require(name and ":" not in name, "users: user name %r is invalid (empty or contains ':')" % name)
        _require(password and len(password) >= 8, "users: the password of %r must have at least 8 characters" % name)
        _require(not (name == "orthanc" and password == "orthanc"),
                 "users: orthanc/orthanc is Orthanc's well-known default login; choose another password")
    aet = spec.get("dicom_aet", "ORTHANC")
    _require(bool(DICOM_AET_PATTERN.match(aet or "")) and aet.strip() == aet,
             "dicom_aet %r is not a valid AE title: 1 to 16 characters among letters, digits, space, '_', '.', '-', "
             "without leading or trailing spaces" % aet)
    for key in ("http_port", "dicom_port"):
        port = spec.get(key)
        _require(isinstance(port, int) and 1 <= port <= 65535, "%s %r must be a TCP port between 1 and 65535" % (key, port))
    _require(spec.get("http_port") != spec.get("dicom_port"), "http_port and dicom_port must differ")
    https = spec.get("https") or {}
    _require(not https.get("enabled") or https.get("certificate_bundle"),
             "https.enabled needs https.certificate_bundle (one PEM holding the certificate and its private key)")
    tls = spec.get("dicom_tls") or {}
    if tls.get("enabled"):
        for key in ("certificate", "private_key", "trusted_certificates"):
            _require(tls.get(key), "dicom_tls.enabled needs dicom_tls.%s (a PEM file path on the host)" % key)


def build_config(spec):
    """Orthanc's JSON configuration from the collection's structured inputs (see the orthanc_config module's options)."""
    _validate(spec)
    config = {
        "Name": spec.get("name", "Orthanc"),
        "StorageDirectory": spec["storage_dir"],
        "IndexDirectory": spec.get("index_dir") or spec["storage_dir"],
        "HttpPort": spec["http_port"],
        "DicomPort": spec["dicom_port"],
        "DicomAet": spec.get("dicom_aet", "ORTHANC"),
        "RemoteAccessAllowed": bool(spec.get("remote_access_allowed", False)),
        "AuthenticationEnabled": bool(spec.get("authentication_enabled", True)),
        "RegisteredUsers": dict(spec.get("users") or {}),
        # Secure defaults Orthanc does not always have: no Lua from REST, no writes to the host's file system from REST.
        "ExecuteLuaEnabled": False,
        "RestApiWriteToFileSystemEnabled": False,
        "DeidentifyLogs": True,
        # Measured in the lab: the default 128 MB cache grew RSS to 200-450 MB under load for no throughput gain.
        "MaximumStorageCacheSize": int(spec.get("maximum_storage_cache_size_mb", 0)),
        "StableAge": int(spec.get("stable_age", 60)),
        "ConcurrentJobs": int(spec.get("concurrent_jobs", 2)),
        "HttpThreadsCount": int(spec.get("http_threads", 50)),
        "DicomCheckCalledAet": bool(spec.get("dicom_check_called_aet", False)),
        "UnknownSopClassAccepted": False,
        "Plugins": list(spec.get("plugins") or []),
    }
    _add_postgresql(config, spec.get("postgresql") or {})
    _add_dicomweb(config, spec.get("dicomweb") or {})
    _add_python(config, spec.get("python") or {})
    _add_tls(config, spec.get("https") or {}, spec.get("dicom_tls") or {})
    if spec.get("https_ca_certificates"):
        # CAs Orthanc's own HTTP client trusts (DICOMweb servers, peers): the cloud's CA, never "verify off".
        config["HttpsCACertificates"] = spec["https_ca_certificates"]
        config["HttpsVerifyPeers"] = True
    if spec.get("dicom_modalities"):
        config["DicomModalities"] = copy.deepcopy(spec["dicom_modalities"])
    return deep_merge(config, spec.get("extra") or {})


def _add_postgresql(config, pg):
    if not pg.get("enabled"):
        return
    for key in ("host", "database", "username", "password"):
        _require(pg.get(key), "postgresql.%s is required when the PostgreSQL index is enabled" % key)
    config["PostgreSQL"] = {
        "EnableIndex": True,
        "EnableStorage": bool(pg.get("enable_storage", False)),
        "Host": pg["host"],
        "Port": int(pg.get("port", 5432)),
        "Database": pg["database"],
        "Username": pg["username"],
        "Password": pg["password"],
        "EnableSsl": bool(pg.get("ssl", False)),
        # Several Orthancs sharing one database (replicas, the router's queue) need Lock off.
        "Lock": bool(pg.get("lock", True)),
        "MaximumConnectionRetries": int(pg.get("connection_retries", 10)),
        "ConnectionRetryInterval": int(pg.get("connection_retry_interval", 5)),
    }


def _add_dicomweb(config, web):
    if not web.get("enabled", True):
        return
    config["DicomWeb"] = {"Enable": True, "Root": web.get("root", "/dicom-web/"), "EnableWado": True,
                          "Ssl": bool(web.get("ssl", False))}
    if web.get("servers"):
        config["DicomWeb"]["Servers"] = copy.deepcopy(web["servers"])


def _add_python(config, python):
    if not python.get("script"):
        return
    # "PythonScript" is understood by every orthanc-python release (the "Python" section only from 4.1 on).
    config["PythonScript"] = python["script"]
    config["PythonVerbose"] = bool(python.get("verbose", False))
    for section, settings in (python.get("sections") or {}).items():
        config[section] = copy.deepcopy(settings)


def _add_tls(config, https, tls):
    if https.get("enabled"):
        config["SslEnabled"] = True
        config["SslCertificate"] = https["certificate_bundle"]
    if tls.get("enabled"):
        config.update({
            "DicomTlsEnabled": True,
            "DicomTlsCertificate": tls["certificate"],
            "DicomTlsPrivateKey": tls["private_key"],
            "DicomTlsTrustedCertificates": tls["trusted_certificates"],
            "DicomTlsRemoteCertificateRequired": bool(tls.get("remote_certificate_required", True)),
        })
