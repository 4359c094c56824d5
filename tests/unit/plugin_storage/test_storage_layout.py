"""Object names against the official object-storage plugins' documented layouts."""
import pytest

from medimaging_plugin.storage.layout import candidate_names, filesystem_path, normalise_root, object_name

UUID = "8d6f4a3c-1b2e-4f5a-9c8d-7e6f5a4b3c2d"


@pytest.mark.parametrize("content_type,name", [(1, UUID + ".dcm"), (2, UUID + ".json"), (3, UUID + ".dcm.head"),
                                               (32768, UUID + ".unk")])
def test_flat_names_are_the_official_ones(content_type, name):
    assert object_name(UUID, content_type) == name
    assert object_name(UUID, content_type, root="site/a") == "site/a/" + name


def test_legacy_names_follow_orthancs_filesystem_tree():
    assert object_name(UUID, 1, "legacy") == "8d/6f/" + UUID
    assert object_name(UUID, 3, "legacy", "root") == "root/8d/6f/" + UUID  # no extension, whatever the type
    assert filesystem_path("/var/lib/orthanc/db/", UUID) == "/var/lib/orthanc/db/8d/6f/" + UUID


def test_reads_try_the_configured_layout_then_the_other():
    assert candidate_names(UUID, 1, "flat", "r") == ["r/%s.dcm" % UUID, "r/8d/6f/" + UUID]
    assert candidate_names(UUID, 1, "legacy") == ["8d/6f/" + UUID, UUID + ".dcm"]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "8D6F4A3C-1B2E-4F5A-9C8D-7E6F5A4B3C2D", "", None, UUID + "/"])
def test_only_orthanc_uuids_become_names(bad):
    with pytest.raises(ValueError):
        object_name(bad, 1)


def test_root_is_normalised():
    assert normalise_root("/a//b/") == "a/b" and normalise_root(None) == ""
