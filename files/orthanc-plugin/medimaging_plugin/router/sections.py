"""Generic validation of a plugin configuration section and of its container (ORTHANC__...) form.

Shared by MedimagingRouter and MedimagingPriors. A schema is {Key: (type, default)} with type one of
bool, int, float, str, list (of strings), dict. Environment variables are strings: lists accept JSON
or comma-separated values, dicts accept JSON.
"""

import difflib
import json
import re

from ..config.env import camel_to_upper_snake
from ..config.errors import ConfigError
from ..config.ranges import finite


def suggest(key, known):
    close = difflib.get_close_matches(key, list(known), n=1)
    return "did you mean %s?" % close[0] if close else "known keys: %s" % ", ".join(sorted(known))


def env_prefix(section):
    """'MedimagingRouter' -> 'ORTHANC__MEDIMAGING_ROUTER__'."""
    return "ORTHANC__%s__" % camel_to_upper_snake(section)


def _coerce(path, value, kind, from_env):
    if from_env and isinstance(value, str):
        value = _from_env_string(path, value, kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(path, "expected true or false, got %r" % (value,))
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, "expected a number, got %r" % (value,))
        if value < 0:
            raise ConfigError(path, "must be >= 0, got %r" % (value,))
        finite(path, value)
        if kind is int and int(value) != value:
            raise ConfigError(path, "expected a whole number, got %r" % (value,))
        return kind(value)
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(path, "expected a list of non-empty strings, got %r" % (value,))
        return [v.strip() for v in value]
    if kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, "expected a JSON object, got %s" % type(value).__name__)
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, "expected a non-empty string")
    return value.strip()


def _from_env_string(path, text, kind):
    text = text.strip()
    if kind is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        return text
    if kind in (int, float):
        try:
            return float(text) if kind is float else int(text)
        except ValueError:
            return text
    if kind is list:
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                raise ConfigError(path, "expected a JSON list or comma-separated values") from None
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind is dict:
        try:
            return json.loads(text)
        except ValueError:
            raise ConfigError(path, "expected a JSON object") from None
    return text


def typed(raw, schema, path, env_keys=()):
    """Validate `raw` against `schema`; returns {key: value} with defaults filled in."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "expected a JSON object")
    out = {key: default for key, (_kind, default) in schema.items()}
    for key, value in raw.items():
        if key not in schema:
            raise ConfigError("%s.%s" % (path, key), "unknown key", suggest(key, schema))
        if value is None:
            continue
        out[key] = _coerce("%s.%s" % (path, key), value, schema[key][0], key in env_keys)
    return out


def read_env(environ, section, section_schema, named_key=None, named_schema=None):
    """Environment form of a section. Returns (section values, {NAME: values}, env keys).

    ORTHANC__<SECTION>__<KEY> and, for a map of named entries (e.g. Destinations),
    ORTHANC__<SECTION>__<NAMED_KEY>__<NAME>__<KEY>. Unknown names under the prefix raise: a typo in a
    manifest must be visible.
    """
    prefix = env_prefix(section)
    named_prefix = prefix + camel_to_upper_snake(named_key) + "__" if named_key else None
    by_env = {camel_to_upper_snake(k): k for k in section_schema if k != named_key}
    named_by_env = {camel_to_upper_snake(k): k for k in (named_schema or {})}
    values, named = {}, {}
    for var in sorted(environ):
        if not var.startswith(prefix):
            continue
        if named_prefix and var.startswith(named_prefix):
            name, sep, key = var[len(named_prefix):].rpartition("__")
            if not sep or not name or key not in named_by_env:
                raise ConfigError(var, "unknown setting; expected %s<NAME>__<%s>"
                                  % (named_prefix, "|".join(sorted(named_by_env))))
            named.setdefault(name, {})[named_by_env[key]] = environ[var]
            continue
        key = var[len(prefix):]
        if key not in by_env:
            raise ConfigError(var, "unknown setting", suggest(key, by_env))
        values[by_env[key]] = environ[var]
    return values, named


def norm_name(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def merge_named(json_entries, env_entries):
    """Env entries override JSON entries with the same name (compared ignoring case and
    punctuation); an env-only entry is named in lower case. Returns {name: (raw, env keys)}."""
    merged = {name: (dict(body) if isinstance(body, dict) else body, set()) for name, body in json_entries.items()}
    by_norm = {norm_name(name): name for name in json_entries}
    for env_name, env_values in env_entries.items():
        name = by_norm.get(norm_name(env_name), env_name.lower())
        body, keys = merged.get(name, ({}, set()))
        body = dict(body) if isinstance(body, dict) else {}
        body.update(env_values)
        merged[name] = (body, keys | set(env_values))
    return merged


def postgres_dsn_params(orthanc_config, override=None, path="PostgreSQL"):
    """Connection parameters of Orthanc's own index database (its "PostgreSQL" section), or of an
    explicit override with the same keys. Returns the parameters of medimaging_plugin.database.Database."""
    section = override if override is not None else orthanc_config.get("PostgreSQL")
    if not isinstance(section, dict) or not (section.get("Host") or section.get("ConnectionUri")):
        raise ConfigError(path, "no PostgreSQL connection: the queue lives in Orthanc's PostgreSQL index database",
                          "load the PostgreSQL index plugin with a \"PostgreSQL\" section (Host, Database, "
                          "Username, Password), or set Database in this section")
    if section.get("ConnectionUri"):
        return {"conninfo": section["ConnectionUri"]}
    params = {"host": section["Host"], "port": int(section.get("Port", 5432)),
              "dbname": section.get("Database", "orthanc"), "user": section.get("Username", "orthanc"),
              "password": section.get("Password", ""), "application_name": "medimaging-plugin"}
    if section.get("EnableSsl"):
        params["sslmode"] = "require"
    return params
