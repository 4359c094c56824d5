"""Check an Orthanc configuration the way the plugin will read it, before it is installed.

  python3 -m medimaging_plugin.config.check [--env-file orthanc.env] [--will-exist FILE]... orthanc.json

Every feature section is validated with the plugin's own loaders (the schema the plugin refuses at start),
so a deployment check and the running plugin cannot disagree. Exit 0 with one line per configured
feature, or exit 1 with one line per refused section, each naming the key:
  MedimagingRouter.BatchSize: must be between 1 and 1000, got -5
"""

import argparse
import json
import os
import shlex
import sys

from ..archive.config import SECTION as ARCHIVE, load_archive_settings
from ..priors.config import SECTION as PRIORS, load_priors_settings
from ..router.config import SECTION as ROUTER, load_router_settings
from ..storage.config import SECTION as STORAGE, load_storage_settings
from .errors import ConfigError
from .checks import PLANNED_FILES
from .oauth import SECTION as OAUTH, load_oauth_settings

LOADERS = ((OAUTH, load_oauth_settings), (ROUTER, load_router_settings), (PRIORS, load_priors_settings),
           (ARCHIVE, load_archive_settings), (STORAGE, load_storage_settings))


def check(orthanc_config, environ):
    """[(section, None | "configured" | "disabled", error message or None)] for every feature."""
    results = []
    for section, load in LOADERS:
        try:
            settings = load(orthanc_config, environ)
        except ConfigError as exc:
            results.append((section, "refused", str(exc)))
            continue
        results.append((section, None if settings is None else "configured" if settings.enabled else "disabled",
                        None))
    return results


def read_env_file(path):
    """KEY=VALUE lines as systemd's EnvironmentFile and the orthanc_host role write them (values shell-quoted)."""
    environ = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise ConfigError("%s:%d" % (path, number), "expected KEY=VALUE")
            try:
                environ[key.strip()] = "".join(shlex.split(value))
            except ValueError as exc:
                raise ConfigError("%s:%d" % (path, number), "unbalanced quotes (%s)" % exc) from None
    return environ


def _load_config(path):
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    if not isinstance(config, dict):
        raise ConfigError(path, "expected a JSON object (Orthanc's configuration)")
    return config


def main(argv=None):
    summary = __doc__.split("\n", maxsplit=1)[0]
    parser = argparse.ArgumentParser(prog="python3 -m medimaging_plugin.config.check", description=summary)
    parser.add_argument("config", help="Orthanc's JSON configuration file")
    parser.add_argument("--env-file", help="Orthanc's environment (KEY=VALUE lines); default: this process's")
    parser.add_argument("--will-exist", action="append", default=[], metavar="FILE",
                        help="a file the deployment installs after this check (e.g. a CA bundle): taken as present")
    args = parser.parse_args(argv)
    PLANNED_FILES.update(args.will_exist)
    try:
        config = _load_config(args.config)
        environ = read_env_file(args.env_file) if args.env_file else dict(os.environ)
    except (OSError, ValueError, RecursionError) as exc:
        print("cannot read the configuration: %s" % exc)
        return 2
    results = check(config, environ)
    refused = [error for _section, outcome, error in results if outcome == "refused"]
    for line in refused or ["%s: %s" % (section, outcome) for section, outcome, _error in results if outcome]:
        print(line)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
