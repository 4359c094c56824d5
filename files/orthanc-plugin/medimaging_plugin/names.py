"""Name and UID rules: the plugin's one place for them (it cannot import the collection's module_utils).

Whole-string matches only: with re.match, `$` also matches before a trailing newline, so "pacs\\n" or
"1.2.3\\n" passed and then named servers, routes and blobs that nothing could address or delete.
"""

import re

# DICOMweb server, route and identity names: they become URL path segments and metric labels.
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
NAME_RULE = "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
# DICOM UIDs (PS3.5 9.1): digits and dots, at most 64 characters.
UID = r"[0-9]+(\.[0-9]+)*"


def valid_name(value):
    return isinstance(value, str) and re.fullmatch(NAME, value) is not None


def valid_uid(value):
    return isinstance(value, str) and len(value) <= 64 and re.fullmatch(UID, value) is not None
