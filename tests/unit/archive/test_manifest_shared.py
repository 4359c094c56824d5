"""One manifest definition: the module's archive_manifest and the plugin's archive/manifest.py are one file, and
what one side writes the other reads (through the module's real Blob adapter, over an in-memory container)."""
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from archive_fakes import FakeArchive, FakeOrthanc
from azure.core.exceptions import ResourceNotFoundError
from medimaging_plugin.archive import manifest as plugin_manifest

from ansible_collections.medimaging.orthanc.plugins.module_utils import archive_manifest
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_blob import BlobArchive
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_engine import StudyArchiver

STUDY = "1.2.826.0.1.3680043.8.498.7"


class MemoryBlob:
    def __init__(self, container, name):
        self.container, self.name = container, name

    def upload_blob(self, data, **kwargs):
        self.container.blobs[self.name] = bytes(data)
        return {"content_md5": bytearray(hashlib.md5(data).digest())}  # noqa: S324 - as the service answers

    def get_blob_properties(self):
        digest = bytearray(hashlib.md5(self.container.blobs[self.name]).digest())  # noqa: S324
        return SimpleNamespace(content_settings=SimpleNamespace(content_md5=digest))


class MemoryContainer:
    """Enough of azure.storage.blob.ContainerClient for BlobArchive's manifest calls; records blob reads."""
    container_name = "archive"

    def __init__(self):
        self.blobs, self.reads = {}, []

    def get_blob_client(self, name):
        return MemoryBlob(self, name)

    def download_blob(self, name, validate_content=False):
        self.reads.append(name)
        if name not in self.blobs:
            raise ResourceNotFoundError("BlobNotFound")
        return SimpleNamespace(readall=lambda: self.blobs[name])


def test_both_import_paths_load_the_same_file():
    module_side = archive_manifest.__file__
    assert os.path.islink(module_side), "plugins/module_utils/archive_manifest.py must stay a link, not a copy"
    assert os.path.samefile(module_side, plugin_manifest.__file__)
    assert plugin_manifest.SCHEMA == archive_manifest.SCHEMA == "medimaging.orthanc/study-archive/v1"


def test_what_the_engine_writes_the_plugin_reads():
    orthanc, archive = FakeOrthanc(), FakeArchive()  # FakeArchive stores archive_manifest.manifest_bytes
    orthanc.add("s1", STUDY, "20190101", [b"a" * 10, b"b" * 20], series_uid=STUDY + ".1", modality="MR")
    with ThreadPoolExecutor(max_workers=1) as executor:
        StudyArchiver(orthanc, archive, executor).archive_study(
            {"ID": "s1", "StudyInstanceUID": STUDY, "StudyDate": "20190101"})
    stored, _md5 = archive.blobs[STUDY + "/manifest.json"]
    read = plugin_manifest.parse_manifest(stored, STUDY)
    assert [(e.blob, e.size, e.md5) for e in read.entries] == [
        ("%s/%s.1/%s.%d.dcm" % (STUDY, STUDY, STUDY, n), len(data), hashlib.md5(data).hexdigest())  # noqa: S324
        for n, data in enumerate([b"a" * 10, b"b" * 20])]
    assert read.study_date == "20190101" and read.document["series"] == {STUDY + ".1": {"Modality": "MR", "count": 2}}


def test_what_the_plugin_side_writes_the_module_reads():
    entries = [{"SeriesInstanceUID": "1.2.3", "SOPInstanceUID": "1.2.3.%d" % n, "Modality": "CT", "size": n,
                "md5": "%032x" % n} for n in range(3)]
    document = plugin_manifest.build_manifest({"StudyInstanceUID": STUDY, "StudyDate": "20200202"}, entries)
    container = MemoryContainer()
    container.blobs[STUDY + "/manifest.json"] = plugin_manifest.manifest_bytes(document)
    read = BlobArchive(container).read_manifest(STUDY)
    assert read.study_date == "20200202" and read.document == document
    assert [(e.sop_uid, e.blob, e.size, e.md5) for e in read.entries] == [
        ("1.2.3.%d" % n, "%s/1.2.3/1.2.3.%d.dcm" % (STUDY, n), n, "%032x" % n) for n in range(3)]
    assert not archive_manifest.manifest_changed(read, dict(document, archived_at="2030-01-01T00:00:00Z"))


def test_module_restore_refuses_an_entry_outside_its_study_before_reading_any_blob():
    other = "1.2.826.0.1.3680043.8.498.8"
    entry = {"SeriesInstanceUID": "1.2.3", "SOPInstanceUID": "1.2.3.1", "Modality": "CT", "size": 3,
             "md5": hashlib.md5(b"abc").hexdigest()}  # noqa: S324
    document = archive_manifest.build_manifest({"StudyInstanceUID": STUDY}, [entry])
    document["instances"][0]["blob"] = "%s/1.2.3/1.2.3.1.dcm" % other  # another study's blob, same MD5
    container = MemoryContainer()
    container.blobs[STUDY + "/manifest.json"] = archive_manifest.manifest_bytes(document)
    container.blobs["%s/1.2.3/1.2.3.1.dcm" % other] = b"abc"
    archiver = StudyArchiver(orthanc=None, archive=BlobArchive(container), executor=None)
    with pytest.raises(archive_manifest.ManifestError, match="never points outside its study"):
        archiver.restore_study(STUDY)
    assert container.reads == [STUDY + "/manifest.json"]
