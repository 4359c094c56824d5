"""Containers for the lab: podman with the project's configuration, labelled cleanup, images built locally."""
