"""The plugin's name rule (medimaging_plugin/names.py) and UID rule (archive/manifest.py, shared with the collection)
match whole strings: a trailing newline, which
re.match(...$) let through, is refused wherever a name or UID enters (server names, manifests, restore bodies)."""
import pytest

from medimaging_plugin.archive.manifest import ArchiveError, check_uid, valid_uid
from medimaging_plugin.config import ConfigError
from medimaging_plugin.config.oauth import load_oauth_settings
from medimaging_plugin.names import valid_name

SERVER = {"Url": "https://ws-dicom.dicom.azurehealthcareapis.com/v2",
          "TokenEndpoint": "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token",
          "ClientId": "app-1", "ClientSecret": "s3cr3t-value"}


@pytest.mark.parametrize("value", ["pacs\n", "pacs\r\n", "pacs ", "\npacs", "pa\ncs", "", "-pacs", "x" * 65, None])
def test_bad_names(value):
    assert not valid_name(value)


@pytest.mark.parametrize("value", ["pacs", "azure-dicom.v2", "a", "x" * 64])
def test_good_names(value):
    assert valid_name(value)


@pytest.mark.parametrize("value", ["1.2.3\n", "1.2.3\r\n", "1.2.3 ", "\n1.2.3", "1.2.\n3", "", "1." * 32 + "1"])
def test_bad_uids(value):
    assert not valid_uid(value)
    with pytest.raises(ArchiveError):
        check_uid(value)


def test_a_server_name_with_a_trailing_newline_is_refused_by_the_configuration():
    with pytest.raises(ConfigError) as caught:
        load_oauth_settings({"DicomWebOAuth": {"Servers": {"azure\n": SERVER}}}, {})
    assert "azure" in str(caught.value)
    assert load_oauth_settings({"DicomWebOAuth": {"Servers": {"azure": SERVER}}}, {}) is not None
