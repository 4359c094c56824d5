"""Configuration of the plugin's features, read from Orthanc's JSON and the container's environment."""

from .errors import ConfigError  # noqa: F401
