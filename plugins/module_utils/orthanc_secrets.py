# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mask every secret an Orthanc configuration can hold, by its structure, for diffs, results and logs.

Where Orthanc's configuration (and its plugins', and ours) carries secrets:

* keys named like a secret, at any depth and in any case: Password (PostgreSQL, MySQL, peers, DICOMweb servers),
  CertificateKeyPassword, ClientSecret, StaticToken, SecretKey/AccessKey (S3), ConnectionString and
  IndexConnectionString (Azure Blob, ODBC), WebServicePassword (authorization plugin), ...; never the *File/*Env
  keys that only say where a secret lives;
* RegisteredUsers: {user: password}; HttpHeaders: {header: value} (peers, DICOMweb servers), every header but a
  few harmless ones, whatever the case of its name;
* the list forms of OrthancPeers and DicomWeb.Servers entries: [url, username, password, ...];
* inside any string: the password of a URI (postgresql://user:PASSWORD@host), secret query parameters (SAS sig,
  token), AccountKey=/Password= in connection strings, password= in libpq strings, Bearer/Basic credentials, JWTs;
  HttpProxy's user:password@host.

With a `salt` (random, per run, never shown), a mask carries a short keyed fingerprint, so a diff still shows
that a secret changed (rotation) without showing either value.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import re

MASK = "********"

# Lower-cased key-name endings that hold a secret value ("ClientSecretFile" ends in "file": a path, kept).
SECRET_KEY_SUFFIXES = ("password", "passwords", "passwd", "passphrase", "secret", "secrets", "token", "tokens",
                       "apikey", "accesskey", "secretkey", "accountkey", "sharedkey", "connectionstring",
                       "sharedaccesssignature", "authorization", "cookie", "credentials", "identityheader")
# Keys whose value is a map of names to secrets: the names stay visible.
SECRET_MAPS = frozenset(["registeredusers"])
HEADER_MAPS = frozenset(["httpheaders"])
HARMLESS_HEADERS = frozenset(["accept", "accept-encoding", "accept-language", "content-type", "user-agent",
                              "cache-control", "expect"])
# Collections of web services whose entries may be [url, username, password, ...].
WEB_SERVICE_COLLECTIONS = frozenset(["orthancpeers", "servers"])
PROXY_KEYS = frozenset(["httpproxy"])

_URI_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/@:]*:)([^\s/]*)@")
_QUERY_SECRET = re.compile(
    r"(?i)((?:^|[?&;\s])(?:sig|signature|token|access_token|id_token|refresh_token|password|pwd|secret|"
    r"client_secret|code|key|apikey|api_key|x-amz-signature|x-amz-security-token|x-amz-credential)=)[^&\s;#\"']+")
_CONN_SECRET = re.compile(
    r"(?i)((?:^|;)\s*(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)\s*=\s*)[^;]*")
_LIBPQ_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s;']+)")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|negotiate)(\s+)[A-Za-z0-9._~+/=\-]{6,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")
_PROXY_USERINFO = re.compile(r"^((?:[a-z][a-z0-9+.\-]*://)?[^\s/@:]*:)([^\s/]*)@", re.I)


def _mask(value, salt):
    """The mask of one secret value; with a salt, plus a keyed fingerprint that tells values apart."""
    if salt is None or value in (None, ""):
        return MASK
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    digest = hmac.new(salt, text.encode("utf-8"), hashlib.sha256).hexdigest()[:8]
    return MASK + "~" + digest


def is_secret_key(key):
    """True for a key whose value is a secret (Password, ClientSecret, HttpHeaders' Authorization...), any case."""
    name = re.sub(r"[^a-z0-9]", "", str(key).lower())
    return bool(name) and name.endswith(SECRET_KEY_SUFFIXES)


def mask_string(text, salt=None):
    """A string with the secrets it embeds (URI passwords, SAS signatures, connection-string keys...) masked."""
    if not isinstance(text, str) or not text:
        return text

    def keep(group):
        return lambda match: match.group(group) + _mask(match.group(0)[len(match.group(group)):], salt)

    text = _URI_USERINFO.sub(lambda m: m.group(1) + _mask(m.group(2), salt) + "@", text)
    text = _QUERY_SECRET.sub(keep(1), text)
    text = _CONN_SECRET.sub(keep(1), text)
    text = _LIBPQ_PASSWORD.sub(lambda m: m.group(1) + (m.group(2) if m.group(2).startswith(MASK) else
                                                       _mask(m.group(2), salt)), text)
    text = _AUTH_SCHEME.sub(lambda m: m.group(1) + m.group(2) + _mask(m.group(0), salt), text)
    return _JWT.sub(lambda m: _mask(m.group(0), salt), text)


def _mask_all(value, salt):
    """Every leaf of value masked; map keys (user names, header names) stay."""
    if isinstance(value, dict):
        return dict((k, _mask_all(v, salt)) for k, v in value.items())
    if isinstance(value, list):
        return [_mask_all(v, salt) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    return _mask(value, salt)


def _mask_headers(headers, salt):
    if not isinstance(headers, dict):
        return _mask_all(headers, salt)
    return dict((name, mask_secrets(value, salt) if str(name).lower() in HARMLESS_HEADERS else _mask_all(value, salt))
                for name, value in headers.items())


def _mask_web_service_list(entry, salt):
    """[url, username, password, ...]: the URL (its userinfo masked) and the user name stay."""
    return [mask_string(v, salt) if i == 0 else (v if i == 1 else _mask_all(v, salt)) for i, v in enumerate(entry)]


def mask_secrets(value, salt=None):
    """A copy of an Orthanc configuration (or any part of it, or a module result) with every secret masked.

    `salt` (bytes) adds a keyed fingerprint to each mask, so two masked renderings made with the same salt show
    which secrets differ.
    """
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            name = str(key).lower()
            if name in SECRET_MAPS:
                result[key] = _mask_all(item, salt)
            elif name in HEADER_MAPS:
                result[key] = _mask_headers(item, salt)
            elif name == "authorization" and isinstance(item, dict):
                result[key] = mask_secrets(item, salt)  # the authorization plugin's section, not a header
            elif is_secret_key(key) and not isinstance(item, bool):
                result[key] = _mask_all(item, salt)
            elif name in PROXY_KEYS and isinstance(item, str):
                result[key] = _PROXY_USERINFO.sub(lambda m: m.group(1) + _mask(m.group(2), salt) + "@", item)
            elif name in WEB_SERVICE_COLLECTIONS and isinstance(item, dict):
                result[key] = dict((n, _mask_web_service_list(e, salt) if isinstance(e, list)
                                    else mask_secrets(e, salt)) for n, e in item.items())
            else:
                result[key] = mask_secrets(item, salt)
        return result
    if isinstance(value, list):
        return [mask_secrets(item, salt) for item in value]
    return mask_string(value, salt)


def env_key_parts(name):
    """'ORTHANC__DICOMWEB_OAUTH__SERVERS__X__CLIENT_SECRET' -> ['DICOMWEB_OAUTH', 'SERVERS', 'X', 'CLIENT_SECRET']."""
    return [part for part in name.split("__") if part]


def mask_env(variables, salt=None):
    """{NAME: value} of an environment (ORTHANC__SECTION__KEY, AZURE_CLIENT_SECRET...) with every secret masked.

    A name whose last part is secret-like (PASSWORD, CLIENT_SECRET, SAS_TOKEN, CONNECTION_STRING...) masks its
    value; a JSON value (ORTHANC__REGISTERED_USERS, ORTHANC__ORTHANC_PEERS...) is masked by structure under its
    section name; any other value has its embedded secrets (URI passwords...) masked.
    """
    result = {}
    for name, value in variables.items():
        parts = env_key_parts(str(name))
        last = parts[-1] if parts else str(name)
        parsed = _json_container(value)
        if is_secret_key(last) or is_secret_key(str(name)):
            result[name] = _mask(value, salt)
        elif parsed is not None:
            section = last.replace("_", "")
            masked = mask_secrets({section: parsed}, salt)[section]
            result[name] = json.dumps(masked, sort_keys=True, separators=(",", ":"))
        else:
            result[name] = mask_string(value, salt) if isinstance(value, str) else value
    return result


def _json_container(value):
    if not isinstance(value, str) or value[:1] not in ("{", "["):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None
