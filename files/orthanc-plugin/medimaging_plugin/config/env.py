"""Container form of the DicomWebOAuth section: ORTHANC__DICOMWEB_OAUTH__... environment variables.

Names follow the Orthanc container convention: CamelCase key -> UPPER_SNAKE, '__' per nesting level.
  ORTHANC__DICOMWEB_OAUTH__REFRESH_MARGIN_SECONDS=300
  ORTHANC__DICOMWEB_OAUTH__SERVERS__<NAME>__URL=https://...
  ORTHANC__DICOMWEB_OAUTH__SERVERS__<NAME>__CLIENT_SECRET=...
Values are strings; booleans and numbers are converted by the schema (see oauth.py).
"""

import re

PREFIX = "ORTHANC__DICOMWEB_OAUTH__"
SERVERS_PREFIX = PREFIX + "SERVERS__"


def camel_to_upper_snake(name):
    """'TokenEndpoint' -> 'TOKEN_ENDPOINT', 'CaBundle' -> 'CA_BUNDLE'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def read_env_section(environ, section_keys, server_keys):
    """Return ({section key: str}, {NAME: {server key: str}}, [(env var, problem)]).

    Unknown variable names under the prefix are reported, never silently ignored: a typo in a
    deployment manifest must be visible.
    """
    section_by_env = {camel_to_upper_snake(k): k for k in section_keys if k != "Servers"}
    server_by_env = {camel_to_upper_snake(k): k for k in server_keys}
    section, servers, problems = {}, {}, []
    for var in sorted(environ):
        if not var.startswith(PREFIX):
            continue
        value = environ[var]
        if var.startswith(SERVERS_PREFIX):
            rest = var[len(SERVERS_PREFIX):]
            name, sep, key = rest.rpartition("__")
            if not sep or not name or key not in server_by_env:
                problems.append((var, "unknown server setting; expected %s<NAME>__<%s>"
                                 % (SERVERS_PREFIX, "|".join(sorted(server_by_env)))))
                continue
            servers.setdefault(name, {})[server_by_env[key]] = value
        else:
            key = var[len(PREFIX):]
            if key not in section_by_env:
                problems.append((var, "unknown setting; expected one of %s"
                                 % ", ".join(PREFIX + k for k in sorted(section_by_env))))
                continue
            section[section_by_env[key]] = value
    return section, servers, problems
