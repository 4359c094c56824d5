"""Name rules: the plugin's one place for them (it cannot import the collection's module_utils).

Whole-string matches only: with re.match, `$` also matches before a trailing newline, so "pacs\\n" or
"1.2.3\\n" passed and then named servers, routes and blobs that nothing could address or delete.

env_name() is the container form of a configuration key, the orthancteam images' rule: words split where the
case changes, an acronym run kept as one word (HttpsCACertificates -> HTTPS_CA_CERTIFICATES), upper-cased, plus
the names their images spell otherwise. plugins/module_utils/orthanc_config.py applies the same rule to write
the variables; tests/unit/orthanc_config/test_env_names.py holds the one table both sides must answer.
"""

import re

# DICOMweb server, route and identity names: they become URL path segments and metric labels.
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
NAME_RULE = "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"

# Keys the orthancteam images name differently from the rule (the same table as orthanc_config's).
NON_STANDARD_ENV_NAMES = {
    "PostgreSQL": "POSTGRESQL",
    "MySQL": "MYSQL",
    "ODBC": "ODBC",
    "DicomWebOAuth": "DICOMWEB_OAUTH",
    "OrthancExplorer2": "ORTHANC_EXPLORER_2",
    "Gdcm": "GDCM",
}


def valid_name(value):
    return isinstance(value, str) and re.fullmatch(NAME, value) is not None


def env_name(key):
    """'TokenEndpoint' -> 'TOKEN_ENDPOINT', 'HttpsCACertificates' -> 'HTTPS_CA_CERTIFICATES'."""
    if key in NON_STANDARD_ENV_NAMES:
        return NON_STANDARD_ENV_NAMES[key]
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)
    return re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", words).upper()
