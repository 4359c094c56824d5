"""The Azure emulator fixture of tests/integration/azure (one lab for the session, reused when already running)."""
import importlib.util
import os

_SPEC = importlib.util.spec_from_file_location(
    "azure_integration_conftest", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                               "azure", "conftest.py"))
_AZURE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_AZURE)
azure_lab = _AZURE.azure_lab  # noqa: F401  (a fixture, used by name)
