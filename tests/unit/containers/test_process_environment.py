"""Every Orthanc the collection starts gets the same process environment: the image's entrypoint, orthanc_host's
environment file and the lab's Orthanc processes (which the benchmarks and integration tests measure)."""
import importlib.util
import os
import shlex

import jinja2

from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_config import PROCESS_ENVIRONMENT

from lab import orthanc as lab_orthanc

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
ENTRYPOINT = os.path.join(REPO, "images", "orthanc", "entrypoint.py")
ENV_TEMPLATE = os.path.join(REPO, "roles", "orthanc_host", "templates", "orthanc.env.j2")


def test_the_model_keeps_nagle_off_and_glibcs_heap():
    assert PROCESS_ENVIRONMENT["TCP_NODELAY"] == "1"
    mmap, trim = int(PROCESS_ENVIRONMENT["MALLOC_MMAP_THRESHOLD_"]), int(PROCESS_ENVIRONMENT["MALLOC_TRIM_THRESHOLD_"])
    assert 1 << 20 <= mmap <= trim <= 32 << 20  # a DICOM instance on the heap; a bounded amount kept per arena


def render_environment_file(environment):
    """orthanc.env.j2 as the role renders it (Ansible's `quote` filter: shlex.quote)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["quote"] = shlex.quote
    with open(ENV_TEMPLATE, encoding="utf-8") as handle:
        template = env.from_string(handle.read())
    text = template.render(ansible_managed="managed", orthanc_host_plugin_enabled=False,
                           orthanc_host_environment=environment)
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_orthanc_hosts_environment_file_carries_it():
    assert sorted(render_environment_file({})) == ["%s=%s" % item for item in sorted(PROCESS_ENVIRONMENT.items())]


def test_a_value_in_orthanc_host_environment_replaces_the_default():
    lines = render_environment_file({"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert [line for line in lines if line.startswith("MALLOC_TRIM")] == ["MALLOC_TRIM_THRESHOLD_=131072"]
    assert "MALLOC_MMAP_THRESHOLD_=%s" % PROCESS_ENVIRONMENT["MALLOC_MMAP_THRESHOLD_"] in lines


def test_the_lab_starts_orthanc_with_it():
    assert lab_orthanc.PROCESS_ENVIRONMENT == PROCESS_ENVIRONMENT
    process = lab_orthanc.OrthancProcess("/nonexistent", env={"MALLOC_TRIM_THRESHOLD_": "1"})
    env = process.process_env()
    assert env["MALLOC_TRIM_THRESHOLD_"] == "1"  # a test's own value wins
    assert env["MALLOC_MMAP_THRESHOLD_"] == PROCESS_ENVIRONMENT["MALLOC_MMAP_THRESHOLD_"]


def test_the_images_entrypoint_sets_it_unless_given(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("medimaging_entrypoint_env", ENTRYPOINT)
    entrypoint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entrypoint)
    started = {}
    monkeypatch.setattr(entrypoint.os, "execve", lambda binary, argv, env: started.update(env))
    monkeypatch.setattr(entrypoint.shutil, "which", lambda name, path=None: "/usr/sbin/Orthanc")
    build = entrypoint.build  # this machine's own /etc/orthanc and /run/secrets stay out of it
    monkeypatch.setattr(entrypoint, "build", lambda env: build(env, config_dirs=(), secrets_dir=str(tmp_path)))
    environ = {"ORTHANC_CONFIG_DIR": str(tmp_path / "out"), "ORTHANC_PLUGINS_DIR": str(tmp_path),
               "PYTHON_PLUGIN_ENABLED": "false", "DICOM_WEB_PLUGIN_ENABLED": "false",
               "MALLOC_TRIM_THRESHOLD_": "131072"}
    assert entrypoint.main(environ) == 1  # 1: what main returns when execve (here recorded) comes back
    assert started["MALLOC_TRIM_THRESHOLD_"] == "131072"
    assert started["MALLOC_MMAP_THRESHOLD_"] == PROCESS_ENVIRONMENT["MALLOC_MMAP_THRESHOLD_"]
    assert started["TCP_NODELAY"] == "1"
