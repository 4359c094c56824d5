"""The image cache's key: what makes a lab image rebuild, and the errors a missing runtime gives."""
import pytest

from lab.containers import images, runtime


def test_digest_is_stable_and_covers_the_bases():
    assert images.inputs_digest("host-trixie") == images.inputs_digest("host-trixie")
    assert images.inputs_digest("host-trixie") != images.inputs_digest("host-bookworm")


def test_digest_changes_when_a_context_file_changes(tmp_path, monkeypatch):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Containerfile").write_text("FROM scratch\n")
    monkeypatch.setattr(images, "REPO_ROOT", str(tmp_path))
    monkeypatch.setitem(images.IMAGES, "probe", images.Image("localhost/probe:1", containerfile="ctx/Containerfile",
                                                             context="ctx"))
    before = images.inputs_digest("probe")
    (context / "entrypoint.sh").write_text("#!/bin/sh\n")
    assert images.inputs_digest("probe") != before


def test_unknown_image_names_the_known_ones():
    with pytest.raises(runtime.ContainerError, match="no lab image named 'nope'; known: aws-host-bookworm, debian-bookworm"):
        images.ensure("nope")


def test_missing_podman_says_what_to_do(monkeypatch):
    monkeypatch.setattr(runtime.shutil, "which", lambda _: None)
    with pytest.raises(runtime.ContainerError, match="podman is not installed; run `make setup`"):
        runtime.podman("info")


def test_missing_configuration_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTAINERS_CONF", str(tmp_path / "absent.conf"))
    monkeypatch.setattr(runtime.shutil, "which", lambda _: "/usr/bin/podman")
    with pytest.raises(runtime.ContainerError, match="CONTAINERS_CONF names .*absent.conf, which does not exist"):
        runtime.podman("info")
