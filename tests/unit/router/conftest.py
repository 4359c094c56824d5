"""Unit tests of the Orthanc plugin package: put files/orthanc-plugin on sys.path (no `orthanc` module)."""
import os
import sys

PLUGIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "files", "orthanc-plugin")
PLUGIN_DIR = os.path.normpath(PLUGIN_DIR)
if PLUGIN_DIR not in sys.path:
    sys.path.insert(0, PLUGIN_DIR)

# tests/unit, for fakes_common (the fakes shared with ../plugin): pytest puts it on sys.path itself only when it
# loads tests/unit/conftest.py, which it does not when run from inside this folder.
UNIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if UNIT_DIR not in sys.path:
    sys.path.append(UNIT_DIR)
