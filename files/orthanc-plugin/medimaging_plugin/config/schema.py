"""The one configuration schema of the plugin's features: declared fields, the JSON + environment merge, typing.

Every feature section (DicomWebOAuth, MedimagingRouter, MedimagingPriors, MedimagingArchive, MedimagingStorage) is
a {Key: Field} declaration read by load_section(), so defaults, environment parsing and errors are the same
everywhere:
- precedence per key: ORTHANC__<SECTION>__<KEY> variable > Orthanc's JSON > the field's default;
- variable names: names.env_name(), the orthancteam rule the collection's orthanc_config writes them with;
- variables are strings: booleans true/false/1/0/yes/no, numbers, lists as JSON or comma-separated values,
  objects as JSON; an object field also takes one variable per key (ORTHANC__<SECTION>__<KEY>__<SUBKEY>);
- a map of named entries (DicomWebOAuth.Servers, MedimagingRouter.Destinations) takes
  ORTHANC__<SECTION>__<KEY>__<NAME>__<SUBKEY>;
- the first wrong key raises ConfigError naming it; unknown keys and variables are errors, never ignored;
- ranges (Field.limits) and named entries are checked only when the section is enabled.

Names of entries and the container form: a variable name is upper case, so an entry's name cannot survive it.
An entry named in the environment matches a JSON entry ignoring case and punctuation (CLOUD, "cloud", "Cloud";
AZURE_DICOM, "azure-dicom"); an entry only the environment defines is named in lower case (orthanc_config's
from_env(), which the project image's entrypoint runs, names it the same way). A section that refers to an entry
by name (a destination's Server, the priors' Server) finds it ignoring case: config/references.py.
"""

import difflib
import json
import re
from dataclasses import dataclass
from typing import Optional

from ..names import NAME_RULE, env_name, valid_name
from .errors import ConfigError
from .ranges import finite, within_ranges


@dataclass(frozen=True)
class Field:
    """One key of a section or of an entry."""

    kind: type  # bool, int, float, str, list (of strings) or dict
    default: object = None
    limits: Optional[tuple] = None  # (lowest, highest) of a number
    fields: Optional[dict] = None  # an object with these keys ({Key: Field})
    entries: Optional[dict] = None  # a map of named objects with these keys ({Key: Field})
    what: str = "entry"  # what a named entry is, in messages
    group: Optional[str] = None  # a variable for one key of a group replaces every JSON key of that group


class EnvText(str):
    """A value read from a variable: still text, parsed by the field's kind when it is typed."""


def env_prefix(section):
    """'MedimagingRouter' -> 'ORTHANC__MEDIMAGING_ROUTER__'."""
    return "ORTHANC__%s__" % env_name(section)


def suggest(key, known):
    close = difflib.get_close_matches(key, list(known), n=1)
    return "did you mean %s?" % close[0] if close else "known keys: %s" % ", ".join(sorted(known))


def norm_name(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def load_section(orthanc_config, environ, section, fields):
    """{Key: typed value} with defaults filled in, or None when neither the JSON nor the environment configures
    the section. A map field's value is {name: {Key: typed value}}; with Enabled false it is left empty."""
    env_values = read_env(environ, section, fields)
    raw = orthanc_config.get(section)
    if raw is None and not env_values:
        return None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(section, "expected a JSON object")
    maps = {key for key, spec in fields.items() if spec.entries is not None}
    merged = {key: value for key, value in raw.items() if key not in maps}
    for key, value in env_values.items():
        if key not in maps:
            merged[key] = _merge_object(merged.get(key), value)
    values = typed(merged, {key: spec for key, spec in fields.items() if key not in maps}, section)
    for key in maps:
        values[key] = {}
    if not values.get("Enabled", True):
        return values
    check_limits(values, fields, section)
    for key in maps:
        values[key] = typed_entries(raw.get(key), env_values.get(key, {}), fields[key], "%s.%s" % (section, key))
    return values


def typed(raw, fields, path):
    """Type `raw` against {Key: Field}; returns {key: value} with defaults filled in."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "expected a JSON object")
    out = {key: spec.default for key, spec in fields.items()}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError("%s.%s" % (path, key), "unknown key", suggest(key, fields))
        if value is not None:
            out[key] = coerce("%s.%s" % (path, key), value, fields[key])
    return out


def check_limits(values, fields, path):
    """Raise ConfigError naming the first number outside its Field.limits."""
    within_ranges(values, {key: spec.limits for key, spec in fields.items() if spec.limits}, path)


def typed_entries(raw, env_entries, spec, path):
    """{name: typed entry} of a map field: JSON entries and environment entries merged, names checked."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(path, "expected a JSON object of name -> %s" % spec.what)
    entries = {}
    for name, body in sorted(merge_named(raw, env_entries, spec.entries).items()):
        entry_path = "%s.%s" % (path, name)
        if not valid_name(name):
            raise ConfigError(entry_path, "%s name must be %s" % (spec.what, NAME_RULE))
        entries[name] = typed(body, spec.entries, entry_path)
        check_limits(entries[name], spec.entries, entry_path)
    return entries


def merge_named(json_entries, env_entries, fields):
    """Environment entries over JSON entries: same name ignoring case and punctuation, else named in lower case.
    A variable for one key of a Field.group drops the JSON entry's keys of that group (a container's client
    secret replaces a host's secret file)."""
    merged = dict(json_entries)
    by_norm = {norm_name(name): name for name in json_entries}
    for env_entry, env_values in env_entries.items():
        name = by_norm.get(norm_name(env_entry), env_entry.lower())
        body = dict(merged.get(name)) if isinstance(merged.get(name), dict) else {}
        groups = {fields[key].group for key in env_values} - {None}
        for key in [key for key in body if key in fields and fields[key].group in groups]:
            del body[key]
        body.update(env_values)
        merged[name] = body
    return merged


def _merge_object(json_value, env_value):
    """An object's variables (a dict of EnvText) merge over its JSON object; any other variable replaces it."""
    if isinstance(env_value, dict) and isinstance(json_value, dict):
        return dict(json_value, **env_value)
    return env_value


def read_env(environ, section, fields):
    """The section's variables: {Key: EnvText}, {Key: {Subkey: EnvText}} for an object's variables and
    {Key: {NAME: {Subkey: EnvText}}} for a map's."""
    prefix = env_prefix(section)
    nested = {env_name(key) + "__": key for key, spec in fields.items() if spec.fields or spec.entries}
    by_env = {env_name(key): key for key, spec in fields.items() if spec.entries is None}
    values = {}
    for var in sorted(environ):
        if not var.startswith(prefix):
            continue
        rest, text = var[len(prefix):], EnvText(environ[var])
        head = next((head for head in nested if rest.startswith(head)), None)
        if head is None:
            if rest not in by_env:
                raise ConfigError(var, "unknown setting", suggest(rest, by_env))
            values[by_env[rest]] = text
            continue
        key = nested[head]
        spec, tail = fields[key], rest[len(head):]
        inner = spec.entries or spec.fields
        inner_by_env = {env_name(k): k for k in inner}
        name, sep, sub = tail.rpartition("__") if spec.entries else ("", "_", tail)
        if not sep or (spec.entries and not name) or sub not in inner_by_env:
            raise ConfigError(var, "unknown setting; expected %s%s%s<%s>" % (
                prefix, head, "<NAME>__" if spec.entries else "", "|".join(sorted(inner_by_env))))
        target = values.setdefault(key, {})
        if spec.entries:
            target = target.setdefault(name, {})
        target[inner_by_env[sub]] = text
    return values


def coerce(path, value, spec):
    """The value typed by spec.kind (EnvText parsed first); ConfigError naming `path` otherwise."""
    kind = spec.kind
    if isinstance(value, EnvText):
        value = _parse_env_text(path, value, kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(path, "expected true or false, got %r" % (value,))
    if kind in (int, float):
        return _number(path, value, kind)
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(path, "expected a list of non-empty strings, got %r" % (value,))
        return [v.strip() for v in value]
    if kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, "expected a JSON object, got %s" % type(value).__name__)
        return typed(value, spec.fields, path) if spec.fields else value
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, "expected a non-empty string")
    return value.strip()


def _number(path, value, kind):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, "expected a number, got %r" % (value,))
    finite(path, value)
    if value < 0:
        raise ConfigError(path, "must be >= 0, got %r" % (value,))
    if kind is int and int(value) != value:
        raise ConfigError(path, "expected a whole number, got %r" % (value,))
    return kind(value)


def _parse_env_text(path, text, kind):
    """Text of a variable -> the JSON value it stands for; left as text when it does not parse (typing says why)."""
    text = str(text).strip()
    if kind is bool:
        lowered = text.lower()
        return True if lowered in ("true", "1", "yes") else False if lowered in ("false", "0", "no") else text
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            return text
    if kind is list and not text.startswith("["):
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind in (list, dict):
        try:
            return json.loads(text)
        except ValueError:
            raise ConfigError(path, "expected a JSON %s" % ("list or comma-separated values" if kind is list
                                                            else "object")) from None
    return text
