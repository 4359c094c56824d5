"""Which host paths the 1.12 line mounts into the image: what the configuration names, never the image's folders."""
import os
import tempfile

from lab.orthanc import OrthancProcess
from lab.orthanc_container import host_paths
from lab.orthanc_lines import LINES, PLUGIN_ENTRY, orthanc_class, runs_plugin


def test_named_files_mount_their_folder_nested_ones_collapse(tmp_path):
    (tmp_path / "lab" / "ca").mkdir(parents=True)
    (tmp_path / "lab" / "ca" / "ca.pem").write_text("x")
    (tmp_path / "lab" / "secret").write_text("x")
    work = tmp_path / "lab" / "onprem"
    work.mkdir()
    config = {"CaBundle": str(tmp_path / "lab" / "ca" / "ca.pem"),
              "Servers": {"a": {"ClientSecretFile": str(tmp_path / "lab" / "secret")}},
              "StorageDirectory": str(work / "storage"), "Plugins": ["/usr/share/orthanc/plugins/libX.so"]}
    assert host_paths([config, {}], exclude=str(work)) == [str(tmp_path / "lab")]


def test_the_images_own_folders_and_missing_paths_are_never_mounted(tmp_path):
    values = [{"a": "/tmp", "b": "/etc/ssl/certs/ca-certificates.crt", "c": "/usr/share/orthanc/plugins",
               "d": str(tmp_path / "missing"), "e": "relative/path", "f": "/"}]
    assert host_paths(values, exclude=str(tmp_path / "work")) == []


def test_a_file_directly_in_tmp_is_mounted_alone_the_images_tmp_stays():
    with tempfile.NamedTemporaryFile(dir="/tmp", suffix=".pem") as handle:
        assert host_paths([{"CaBundle": handle.name}], exclude="/nowhere") == [handle.name]


def test_lines_and_which_orthancs_follow_them():
    assert LINES == ("1.10", "1.12") and orthanc_class("1.10") is OrthancProcess
    assert runs_plugin({"PythonScript": PLUGIN_ENTRY}) and runs_plugin({"Python": {"Path": PLUGIN_ENTRY}})
    assert not runs_plugin({"PythonScript": "/lab/dicom_guard/guard.py"}) and not runs_plugin(None)


def test_leftovers_of_dead_sessions_and_this_one_are_removed_never_a_live_ones(monkeypatch):
    from lab import orthanc_container
    from lab.containers import runtime
    dead = 2 ** 22 + 12345  # above pid_max's default: no such process
    live = os.getppid()
    owners = [orthanc_container.OWNER, f"orthanc-line-{dead}", f"orthanc-line-{live}", "hybrid-lab", "orthanc-line-x"]
    monkeypatch.setattr(runtime, "podman_json", lambda *args: [
        {"Labels": {"io.medimaging.lab": owner}} for owner in owners])
    removed = []
    monkeypatch.setattr(runtime, "remove_labelled", lambda owner: removed.append(owner) or 1)
    assert orthanc_container.remove_leftovers() == 3
    assert sorted(removed) == sorted([orthanc_container.OWNER, f"orthanc-line-{dead}", "orthanc-line-x"])
