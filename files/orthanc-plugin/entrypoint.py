"""Script loaded by orthanc-python ("Python": {"Path": ".../entrypoint.py"}).

Everything lives in the medimaging_plugin package beside this file. A failure here is logged and
swallowed: the plugin's features stop, Orthanc keeps serving.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

try:
    from medimaging_plugin import orthanc_adapter

    PLUGIN = orthanc_adapter.bootstrap()
except Exception as exc:  # pragma: no cover - exercised inside Orthanc only
    import orthanc

    orthanc.LogError("medimaging plugin failed to load, its features are off: %s: %s"
                     % (type(exc).__name__, exc))
    # With MedimagingStorage configured, Orthanc must not fall back to its local disk: refuse every attachment.
    if "MedimagingStorage" in orthanc.GetConfiguration() or any(
            name.startswith("ORTHANC__MEDIMAGING_STORAGE__") for name in os.environ):

        def _refuse(*_args):
            raise RuntimeError("the medimaging plugin failed to load: MedimagingStorage refuses every attachment")

        try:
            orthanc.RegisterStorageArea(_refuse, _refuse, _refuse)
        except Exception:  # already registered by the plugin before the failure: that area stays
            pass
