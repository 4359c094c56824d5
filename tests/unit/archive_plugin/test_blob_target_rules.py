"""One Blob container rule for the archive and the storage area: the same ContainerUrl and ApiVersion are accepted
or refused whichever section holds them (config/blob_target.py holds the rule)."""
import pytest

from medimaging_plugin.archive.config import load_archive_settings
from medimaging_plugin.config import blob_target
from medimaging_plugin.config.errors import ConfigError
from medimaging_plugin.storage.config import load_storage_settings

TOKEN = {"UseManagedIdentity": True}
GOOD = ["https://account.blob.core.windows.net/archive", "https://account.blob.core.windows.net/archive/",
        "https://proxy.example/account/archive", "http://127.0.0.1:10000/devstoreaccount1/archive"]
BAD = ["https://account.blob.core.windows.net/", "https://account.blob.core.windows.net/Archive",
       "https://account.blob.core.windows.net/ab", "https://account.blob.core.windows.net/a--b",
       "https://account.blob.core.windows.net/archive?sv=1&sig=x", "https://account.blob.core.windows.net/archive?",
       "https://account.blob.core.windows.net/archive#", "https://account.blob.core.windows.net//archive",
       "https://account.blob.core.windows.net/x/../archive", "http://account.blob.core.windows.net/archive",
       "https://user:pw@account.blob.core.windows.net/archive"]


def archive(url, **more):
    return load_archive_settings({"MedimagingArchive": dict({"ContainerUrl": url, "TokenServer": TOKEN}, **more)}, {})


def storage(url, **more):
    section = dict({"Backend": "azure_blob", "ContainerUrl": url, "TokenServer": TOKEN}, **more)
    return load_storage_settings({"MedimagingStorage": section}, {})


@pytest.mark.parametrize("load", [archive, storage], ids=["archive", "storage"])
@pytest.mark.parametrize("url", GOOD)
def test_both_sections_accept_a_container_url(load, url):
    assert load(url).container_url == url.rstrip("/")


@pytest.mark.parametrize("load", [archive, storage], ids=["archive", "storage"])
@pytest.mark.parametrize("url", BAD)
def test_both_sections_refuse_a_container_url(load, url):
    with pytest.raises(ConfigError, match=r"\.ContainerUrl"):
        load(url)


@pytest.mark.parametrize("load", [archive, storage], ids=["archive", "storage"])
def test_both_sections_check_the_api_version_and_default_to_the_same(load):
    assert load(GOOD[0]).api_version == blob_target.DEFAULT_API_VERSION
    with pytest.raises(ConfigError, match=r"\.ApiVersion"):
        load(GOOD[0], ApiVersion="latest")


@pytest.mark.parametrize("load", [archive, storage], ids=["archive", "storage"])
def test_both_sections_ask_azure_storage_for_their_token(load):
    assert load(GOOD[0]).token_server.scope == blob_target.STORAGE_SCOPE == "https://storage.azure.com/.default"
