"""Where a secret lives: inline, an environment variable or a file. Read at each use: files rotate."""

import os
from dataclasses import dataclass, field

from .errors import ConfigError


@dataclass(frozen=True)
class SecretSource:
    """Where a secret lives. The value is read at each use (files rotate: Key Vault CSI, Kubernetes)."""

    kind: str  # "inline" | "env" | "file"
    ref: str = field(repr=False)  # the value itself for "inline", hence never in repr

    def describe(self):
        return {"inline": "inline value", "env": "environment variable %s" % self.ref,
                "file": "file %s" % self.ref}[self.kind]

    def read(self, environ=None):
        environ = os.environ if environ is None else environ
        if self.kind == "inline":
            return self.ref
        if self.kind == "env":
            value = environ.get(self.ref, "")
            if not value:
                raise ConfigError(self.ref, "environment variable is empty or unset")
            return value
        with open(self.ref, "r", encoding="utf-8") as handle:
            value = handle.read().strip()
        if not value:
            raise ConfigError(self.ref, "secret file is empty")
        return value


def env_secret(path, variable, environ):
    """SecretSource of an environment variable that must be set now (path names the key that names it)."""
    if not environ.get(variable):
        raise ConfigError(path, "environment variable %s is empty or unset" % variable)
    return SecretSource("env", variable)
