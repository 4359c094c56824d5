"""orthweb-secrets (the aws_orthweb hosts' ExecStartPre helper): the medimaging plugin is installed from the bucket
only when the archive's SHA-256 is the one the user data names, and not fetched again once installed."""
import hashlib
import importlib.util
import io
import os
import tarfile

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "aws_orthweb", "files", "orthweb-secrets.py")


def _load():
    spec = importlib.util.spec_from_file_location("orthweb_secrets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _archive():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"# the plugin\n"
        info = tarfile.TarInfo("./entrypoint.py")
        info.size, info.mode = len(data), 0o644
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakeS3:
    def __init__(self, data):
        self.data, self.gets = data, 0

    def get_object(self, Bucket, Key):  # noqa: N803 (boto3's names)
        self.gets += 1
        return {"Body": io.BytesIO(self.data)}


@pytest.fixture
def host(tmp_path, monkeypatch):
    script = _load()
    data = _archive()
    s3 = FakeS3(data)
    monkeypatch.setattr(script, "client", lambda service: s3)
    monkeypatch.setattr(script, "write", lambda path, text, mode, group="root": open(path, "w").write(text))
    folder = tmp_path / "lib" / "medimaging-plugin"
    monkeypatch.setenv("ORTHWEB_PLUGIN_DIR", str(folder))
    monkeypatch.setenv("ORTHWEB_BUCKET", "orthweb-lab-studies")
    monkeypatch.setenv("ORTHWEB_PLUGIN_KEY", "deploy/medimaging-plugin-x.tar.gz")
    monkeypatch.setenv("ORTHWEB_PLUGIN_SHA256", hashlib.sha256(data).hexdigest())
    return script, s3, folder


def test_the_plugin_is_installed_once_and_stamped_with_its_hash(host):
    script, s3, folder = host
    script.plugin()
    assert (folder / "entrypoint.py").read_text() == "# the plugin\n"
    assert (folder / ".sha256").read_text() == os.environ["ORTHWEB_PLUGIN_SHA256"]
    script.plugin()  # a restart: the same archive is installed already
    assert s3.gets == 1


def test_an_archive_with_another_hash_is_refused_and_nothing_installed(host, monkeypatch):
    script, _, folder = host
    monkeypatch.setenv("ORTHWEB_PLUGIN_SHA256", "0" * 64)
    with pytest.raises(SystemExit, match="does not have SHA-256"):
        script.plugin()
    assert not folder.exists()
