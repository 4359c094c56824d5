"""Validate ARM request bodies with the Azure SDK's own generated model classes.

Two generations of SDK models exist and both are read from their own metadata, never re-typed here:
- msrest models (healthcareapis, msi, authorization): Model.deserialize() then Model.validate()
  (required properties, patterns, lengths).
- TypeSpec "hybrid" models (storage, postgresqlflexibleservers, appcontainers...): walk the rest
  fields; a field whose annotation is not Optional is required, values must match the annotated
  types, discriminated unions pick their subclass.
Read-only properties are ignored, as ARM ignores them in requests.
"""
import datetime
import enum
import functools
import importlib
import os
import pkgutil
import re
import typing

_VERSION_DIR = re.compile(r"^v(\d{4})_(\d{2})_(\d{2})(_preview)?\Z")
_DEFAULT_VERSION = re.compile(r"""(?:api_version"\s*,\s*"|"api-version"\s*,\s*"|DEFAULT_API_VERSION\s*=\s*['"])([0-9]{4}-[0-9]{2}-[0-9]{2}(?:-preview)?)""")


class UnsupportedApiVersion(Exception):
    def __init__(self, api_version, supported):
        super().__init__(api_version)
        self.api_version, self.supported = api_version, sorted(supported)


@functools.lru_cache(maxsize=None)
def api_versions(package):
    """{api-version: models module} the installed SDK package can validate."""
    module = importlib.import_module(package)
    folder = os.path.dirname(module.__file__)
    versions = {}
    for info in pkgutil.iter_modules([folder]):
        found = _VERSION_DIR.match(info.name)
        if found:
            version = "-".join(found.group(1, 2, 3)) + ("-preview" if found.group(4) else "")
            versions[version] = f"{package}.{info.name}.models"
    if not versions:
        # One default api-version in the configuration, or (azure-mgmt-network) in each operation.
        for name in ("_configuration.py", os.path.join("operations", "_operations.py")):
            path = os.path.join(folder, name)
            if os.path.exists(path) and not versions:
                with open(path, encoding="utf-8") as handle:
                    found = _DEFAULT_VERSION.search(handle.read())
                if found:
                    versions[found.group(1)] = f"{package}.models"
    return versions


def model_class(package, class_names, api_version):
    """The first of class_names that the models module for api_version defines."""
    versions = api_versions(package)
    if api_version not in versions:
        raise UnsupportedApiVersion(api_version, versions)
    models = importlib.import_module(versions[api_version])
    for name in class_names:
        cls = getattr(models, name, None)
        if cls is not None:
            return cls
    return None


def validate(cls, body, operation="create", closed=False):
    """Problems found in body for model cls: a list of 'path: problem' strings (empty when valid).

    closed (hybrid models only): a key the model does not define is a problem too, as the services whose SDKs
    validate nothing client-side refuse it (Key Vault, network, AKS).
    """
    if not isinstance(body, dict):
        return [f"$: expected a JSON object, got {type(body).__name__}"]
    if hasattr(cls, "_attribute_map"):
        return _MsrestWalker().check(cls, body, "$")
    if hasattr(cls, "__mapping__") or _is_hybrid(cls):
        return _HybridWalker(operation, closed).check(cls, body, "$")
    return []


# msrest models -----------------------------------------------------------------------------------
_MSREST_SCALARS = {
    "str": str, "int": int, "long": int, "float": (int, float), "decimal": (int, float), "bool": bool,
    "iso-8601": str, "rfc-1123": str, "duration": str, "date": str, "time": str, "unix-time": int,
    "bytearray": str, "base64": str,
}
_KEY_SPLIT = re.compile(r"(?<!\\)\.")


def _lookup(data, key):
    """Follow a flattened msrest key ('properties.principalId') into data; (value, present)."""
    node = data
    for part in _KEY_SPLIT.split(key):
        part = part.replace("\\.", ".")
        if not isinstance(node, dict) or part not in node:
            return None, False
        node = node[part]
    return node, True


class _MsrestWalker:
    def check(self, cls, data, path):
        if not isinstance(data, dict):
            return [f"{path}: expected an object for {cls.__name__}, got {type(data).__name__}"]
        cls = self._resolve_subtype(cls, data)
        problems = []
        for attr, desc in cls._attribute_map.items():
            rules = cls._validation.get(attr, {})
            if rules.get("readonly") or rules.get("constant"):
                continue
            value, present = _lookup(data, desc["key"])
            where = f"{path}.{desc['key']}"
            if not present or value is None:
                if rules.get("required"):
                    problems.append(f"{where}: required property is missing")
                continue
            type_problems = self.check_value(cls, desc["type"], value, where)
            problems.extend(type_problems or self._constraints(rules, value, where))
        return problems

    @staticmethod
    def _resolve_subtype(cls, data):
        for attr, mapping in (getattr(cls, "_subtype_map", None) or {}).items():
            value, _ = _lookup(data, cls._attribute_map[attr]["key"])
            name = mapping.get(value)
            if name:
                return getattr(importlib.import_module(cls.__module__), name, cls)
        return cls

    def check_value(self, owner, type_name, value, path):
        if type_name.startswith("[") and type_name.endswith("]"):
            if not isinstance(value, list):
                return [f"{path}: expected an array, got {type(value).__name__}"]
            return [p for i, v in enumerate(value) for p in self.check_value(owner, type_name[1:-1], v, f"{path}[{i}]")]
        if type_name.startswith("{") and type_name.endswith("}"):
            if not isinstance(value, dict):
                return [f"{path}: expected an object, got {type(value).__name__}"]
            return [p for k, v in value.items() for p in self.check_value(owner, type_name[1:-1], v, f"{path}.{k}")]
        if type_name == "object":
            return []
        expected = _MSREST_SCALARS.get(type_name)
        if expected is not None:
            wrong = not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)
                                                        and type_name != "bool")
            return [f"{path}: expected {type_name}, got {type(value).__name__} {value!r}"] if wrong else []
        model = getattr(importlib.import_module(owner.__module__), type_name, None)
        if model is None or not hasattr(model, "_attribute_map"):
            # An enum: extensible, any string goes (the service decides).
            return [] if isinstance(value, str) else [f"{path}: expected a string, got {type(value).__name__}"]
        return self.check(model, value, path)

    @staticmethod
    def _constraints(rules, value, path):
        problems = []
        if "pattern" in rules and isinstance(value, str) and not re.search(rules["pattern"], value):
            problems.append(f"{path}: {value!r} does not match the pattern {rules['pattern']}")
        for rule, test, words in (("max_length", lambda v, n: len(v) > n, "longer than"),
                                  ("min_length", lambda v, n: len(v) < n, "shorter than"),
                                  ("max_items", lambda v, n: len(v) > n, "more items than"),
                                  ("min_items", lambda v, n: len(v) < n, "fewer items than"),
                                  ("maximum", lambda v, n: v > n, "greater than"),
                                  ("minimum", lambda v, n: v < n, "less than")):
            if rule in rules:
                try:
                    if test(value, rules[rule]):
                        problems.append(f"{path}: {value!r} is {words} {rules[rule]}")
                except TypeError:
                    pass
        return problems


# TypeSpec hybrid models -----------------------------------------------------------------------------
def _is_hybrid(cls):
    return isinstance(cls, type) and any(b.__name__ == "Model" and "model_base" in b.__module__ for b in cls.__mro__)


def _rest_fields(cls):
    cls.__new__(cls)  # the SDK computes _attr_to_rest_field lazily on first instantiation
    return cls._attr_to_rest_field


@functools.lru_cache(maxsize=None)
def _hints(cls):
    hints = {}
    for klass in reversed(cls.__mro__):
        if "__annotations__" not in klass.__dict__ or klass.__module__.endswith("model_base"):
            continue
        module = importlib.import_module(klass.__module__)
        # The generated files import their own package as _models only under TYPE_CHECKING.
        namespace = dict(vars(module), _models=importlib.import_module(klass.__module__.rsplit(".", 1)[0]))
        for attr, annotation in klass.__dict__["__annotations__"].items():
            try:
                # Evaluating through a throwaway holder resolves nested forward references too.
                holder = type("_Hint", (), {"__annotations__": {"value": annotation}, "__module__": klass.__module__})
                hints[attr] = typing.get_type_hints(holder, namespace)["value"]
            except Exception:  # noqa: BLE001 - an unresolvable hint only skips the type check
                hints[attr] = typing.Any
    return hints


def _is_optional(hint):
    return typing.get_origin(hint) is typing.Union and type(None) in typing.get_args(hint)


class _HybridWalker:
    def __init__(self, operation, closed=False):
        self.operation = operation
        self.closed = closed

    def check(self, cls, data, path):
        if not isinstance(data, dict):
            return [f"{path}: expected an object for {cls.__name__}, got {type(data).__name__}"]
        cls = self._resolve_discriminator(cls, data)
        problems = []
        hints = _hints(cls)
        for attr, field in _rest_fields(cls).items():
            visibility = field._visibility or []
            if visibility == ["read"] or field._is_discriminator:
                continue
            name = field._rest_name
            hint = hints.get(attr, typing.Any)
            if name not in data or data[name] is None:
                applies = not visibility or self.operation in visibility
                if applies and not _is_optional(hint) and hint is not typing.Any \
                        and field._default is _unset(field):
                    problems.append(f"{path}.{name}: required property is missing")
                continue
            problems.extend(self.check_value(hint, data[name], f"{path}.{name}"))
        if self.closed:
            known = {field._rest_name for field in _rest_fields(cls).values()}
            problems.extend(f"{path}.{key}: unknown property (the API defines {', '.join(sorted(known))})"
                            for key in data if key not in known)
        return problems

    @staticmethod
    def _resolve_discriminator(cls, data):
        mapping = getattr(cls, "__mapping__", None)
        if not mapping:
            return cls
        for value in vars(cls).values():
            if getattr(value, "_is_discriminator", False):
                return mapping.get(data.get(value._rest_name), cls)
        return cls

    def check_value(self, hint, value, path):
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is typing.Any or hint is object:
            return []
        if origin is typing.Union:
            options = [a for a in args if a is not type(None)]
            if value is None:
                return []
            results = [self.check_value(option, value, path) for option in options]
            return [] if any(not r for r in results) else results[0]
        if origin is typing.Literal:
            return [] if value in args else [f"{path}: expected one of {list(args)}, got {value!r}"]
        if origin in (list, typing.List):
            if not isinstance(value, list):
                return [f"{path}: expected an array, got {type(value).__name__}"]
            item = args[0] if args else typing.Any
            return [p for i, v in enumerate(value) for p in self.check_value(item, v, f"{path}[{i}]")]
        if origin in (dict, typing.Dict):
            if not isinstance(value, dict):
                return [f"{path}: expected an object, got {type(value).__name__}"]
            item = args[1] if len(args) > 1 else typing.Any
            return [p for k, v in value.items() for p in self.check_value(item, v, f"{path}.{k}")]
        if isinstance(hint, type):
            return self._check_type(hint, value, path)
        return []

    def _check_type(self, hint, value, path):
        if issubclass(hint, enum.Enum):  # extensible enums: any string is accepted, as the service does
            return [] if isinstance(value, str) else [f"{path}: expected a string, got {type(value).__name__}"]
        if hint is bool:
            ok = isinstance(value, bool)
        elif hint is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif hint is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif hint in (str, bytes, bytearray, datetime.datetime, datetime.date, datetime.time, datetime.timedelta):
            ok = isinstance(value, str)
        elif _is_hybrid(hint):
            return self.check(hint, value, path)
        else:
            return []
        return [] if ok else [f"{path}: expected {hint.__name__}, got {type(value).__name__} {value!r}"]


def _unset(field):
    module = importlib.import_module(type(field).__module__)
    return getattr(module, "_UNSET", None)
