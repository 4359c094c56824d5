"""The Orthanc lines the plugin is proven on: 1.10 (Debian 12, on the host) and 1.12 (the project's image).

A line applies to the Orthancs that run the medimaging plugin; the lab's stand-ins (a cloud, a token guard) stay
on the host's Orthanc whatever the line, so one run varies one thing.
"""
import os

from lab.orthanc import OrthancProcess

LINES = ("1.10", "1.12")
DEFAULT_LINE = "1.10"
PLUGIN_ENTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "files", "orthanc-plugin",
                            "entrypoint.py")


def orthanc_class(line):
    if line == "1.10":
        return OrthancProcess
    if line == "1.12":
        from lab.orthanc_container import OrthancContainer  # podman only when this line is asked for
        return OrthancContainer
    raise ValueError(f"unknown Orthanc line {line!r}; known: {', '.join(LINES)}")


def runs_plugin(config):
    config = config or {}
    return PLUGIN_ENTRY in (config.get("PythonScript"), (config.get("Python") or {}).get("Path"))


def orthanc_for(line, workdir, config=None, **kwargs):
    """An Orthanc (not started) on `line` when its configuration runs the plugin, else on the host."""
    cls = orthanc_class(line) if runs_plugin(config) else OrthancProcess
    return cls(workdir, config=config, **kwargs)


def check_line(orthanc, line):
    """The started Orthanc really is on `line` (a wrong image or PATH would otherwise pass silently)."""
    version = orthanc.get_json("/system")["Version"]
    if not version.startswith(line + "."):
        raise AssertionError(f"Orthanc {orthanc.name} runs {version}, expected the {line} line")
    return version
