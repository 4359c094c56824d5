"""medimaging.orthanc plugin package, loaded by orthanc-python through ../entrypoint.py.

Only orthanc_adapter.py imports the `orthanc` module; everything else is plain Python so it can be
unit-tested on any interpreter. Features (tokens today; router, archive, priors later) share the
metrics registry (metrics.py) and the logger (log.py).
"""

__version__ = "0.1.0"
