"""Entrypoint of the medimaging Orthanc image: one configuration from the orthancteam images' sources, then Orthanc.

Sources, lowest precedence first: the image's defaults, /etc/orthanc/*.json, /run/secrets/*.json, ORTHANC_JSON,
ORTHANC__SECTION__KEY variables. A variable's value may come from a file: /run/secrets/<VARIABLE> or
<VARIABLE>_SECRET=<file name under /run/secrets, or a path>. <X>_PLUGIN_ENABLED=true|false switches a plugin;
without it a plugin is on when its section is in the configuration. The variable -> JSON mapping is the
collection's own (plugins/module_utils/orthanc_config.py, copied into the image at build time), so host JSON,
container variables and Helm values are one model.

Writes only ORTHANC_CONFIG_DIR (default /tmp/orthanc): runs under any UID.
"""
import glob
import json
import os
import shutil
import sys

sys.path.insert(0, os.environ.get("MEDIMAGING_LIB", "/usr/lib/medimaging"))
from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_config as model  # noqa: E402

PLUGIN_SCRIPT = "/usr/share/medimaging/orthanc-plugin/entrypoint.py"
DEFAULTS = {
    "Name": "medimaging",
    "StorageDirectory": "/var/lib/orthanc/db",
    "IndexDirectory": "/var/lib/orthanc/db",
    "RemoteAccessAllowed": True,
    "AuthenticationEnabled": True,
    "DeidentifyLogs": True,
    "ExecuteLuaEnabled": False,
    "RestApiWriteToFileSystemEnabled": False,
    "MaximumStorageCacheSize": 0,  # measured: the 128 MB default grows RSS for no throughput gain
    "DicomWeb": {"Enable": True},
    "Python": {"Path": PLUGIN_SCRIPT},
    "PythonScript": PLUGIN_SCRIPT,  # orthanc-python < 4.1 reads only this one
}
# <X>_PLUGIN_ENABLED: (the section that switches it on, its libraries)
PLUGINS = {
    "DICOM_WEB": ("DicomWeb", ("libOrthancDicomWeb.so",)),
    "POSTGRESQL": ("PostgreSQL", ("libOrthancPostgreSQLIndex.so", "libOrthancPostgreSQLStorage.so")),
    "PYTHON": ("Python", ("libOrthancPython.so",)),
}
PLUGIN_DIRS = ("/usr/share/orthanc/plugins-available", "/usr/share/orthanc/plugins")  # orthancteam, Debian
BINARY_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin"
# Variables ending in _SECRET that are values, not file pointers: the plugin's documented
# ORTHANC__DICOMWEB_OAUTH__SERVERS__<NAME>__CLIENT_SECRET (a file: ..._CLIENT_SECRET_FILE or ..._CLIENT_SECRET_SECRET).
VALUE_NAMES = ("__CLIENT_SECRET",)


class ConfigurationError(Exception):
    """The configuration cannot be built; the message says which input and what to do."""


def read_file(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigurationError("%s: cannot read %s (%s)" % (what, path, exc.strerror)) from exc


def resolve_secrets(environ, secrets_dir):
    """The environment with /run/secrets/<VARIABLE> files and <VARIABLE>_SECRET references read in."""
    env = dict(environ)
    for path in sorted(glob.glob(os.path.join(secrets_dir, "ORTHANC__*"))):
        env.setdefault(os.path.basename(path), read_file(path, "secret file").rstrip("\n"))
    for name, value in environ.items():
        if name.endswith("_SECRET") and not name.endswith(VALUE_NAMES):
            path = value if os.path.isabs(value) else os.path.join(secrets_dir, value)
            env[name[:-len("_SECRET")]] = read_file(path, name).rstrip("\n")
            del env[name]
    return env


def json_files(folder):
    config = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        try:
            config = model.deep_merge(config, json.loads(read_file(path, "configuration file")))
        except ValueError as exc:
            raise ConfigurationError("%s is not valid JSON: %s" % (path, exc)) from exc
    return config


def build(environ, config_dirs=("/etc/orthanc",), secrets_dir="/run/secrets"):
    """(configuration, environment for Orthanc): the merged configuration and the environment with secrets read."""
    env = resolve_secrets(environ, secrets_dir)
    config = dict(DEFAULTS)
    for folder in tuple(config_dirs) + (secrets_dir,):
        config = model.deep_merge(config, json_files(folder))
    if env.get("ORTHANC_JSON"):
        try:
            config = model.deep_merge(config, json.loads(env["ORTHANC_JSON"]))
        except ValueError as exc:
            raise ConfigurationError("ORTHANC_JSON is not valid JSON: %s" % exc) from exc
    try:
        config = model.deep_merge(config, model.from_env(env, reference=config, strict=False))
    except model.OrthancConfigError as exc:
        raise ConfigurationError(str(exc)) from exc
    return one_python_script(config), env


def one_python_script(config):
    """orthanc-python 5.0 runs PythonScript when both it and Python.Path are set: a script the user names in either
    replaces the image's default in both."""
    named = [value for value in (config.get("PythonScript"), (config.get("Python") or {}).get("Path"))
             if value and value != PLUGIN_SCRIPT]
    if named:
        config["PythonScript"] = named[0]
        config["Python"] = dict(config.get("Python") or {}, Path=named[0])
    return config


def enabled_plugins(config, env):
    """<X>_PLUGIN_ENABLED names of the plugins to load."""
    enabled = []
    for name, (section, _libraries) in PLUGINS.items():
        switch = env.get(name + "_PLUGIN_ENABLED", "").strip().lower()
        if switch == "true" or (switch != "false" and section in config):
            enabled.append(name)
    return enabled


def plugin_paths(names, plugin_dir):
    paths = []
    for name in names:
        for library in PLUGINS[name][1]:
            path = os.path.join(plugin_dir, library)
            if not os.path.exists(path):
                raise ConfigurationError("%s_PLUGIN_ENABLED: %s is not in this image (%s)"
                                         % (name, library, plugin_dir))
            paths.append(path)
    return paths


def main(environ=None):
    try:
        config, env = build(os.environ if environ is None else environ)
        if not config.get("Plugins"):  # a list is the user's choice; the model writes [] for "none given"
            plugin_dir = env.get("ORTHANC_PLUGINS_DIR") or next((d for d in PLUGIN_DIRS if os.path.isdir(d)), "")
            config["Plugins"] = plugin_paths(enabled_plugins(config, env), plugin_dir)
    except ConfigurationError as exc:
        print("medimaging entrypoint: %s" % exc, file=sys.stderr)
        return 2
    out_dir = env.get("ORTHANC_CONFIG_DIR", "/tmp/orthanc")
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    path = os.path.join(out_dir, "orthanc.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds passwords
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    binary = shutil.which("Orthanc", path=BINARY_PATH)
    flags = [flag for switch, flag in (("VERBOSE_STARTUP", "--verbose"), ("VERBOSE_ENABLED", "--verbose"),
                                       ("TRACE_ENABLED", "--trace")) if env.get(switch) == "true"]
    for name, value in model.PROCESS_ENVIRONMENT.items():  # Nagle off, glibc's heap kept: see the model
        env.setdefault(name, value)
    os.execve(binary, [binary, *sorted(set(flags)), *sys.argv[1:], path], env)
    return 1


if __name__ == "__main__":
    sys.exit(main())
