"""Masking by structure (module_utils/orthanc_secrets): every secret-bearing place of Orthanc's configuration."""
import json

import pytest

from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_secrets import (
    MASK, is_secret_key, mask_env, mask_secrets, mask_string)

CANARY = "Canary9f3e"  # every secret below contains it; no masked output may


def leaks(value):
    return CANARY in json.dumps(value)


# (where, configuration fragment): each holds CANARY in a place Orthanc (or a plugin, or ours) reads a secret from.
SECRET_PLACES = [
    ("registered users", {"RegisteredUsers": {"alice": CANARY + "a", "bob": CANARY + "b"}}),
    ("postgresql password", {"PostgreSQL": {"Host": "db", "Password": CANARY}}),
    ("postgresql connection uri", {"PostgreSQL": {"ConnectionUri": "postgresql://orthanc:%s@db:5432/orthanc" % CANARY}}),
    ("uri password with @", {"PostgreSQL": {"ConnectionUri": "postgres://u:%s@x@db/orthanc" % CANARY}}),
    ("mysql password", {"MySQL": {"Password": CANARY}}),
    ("odbc connection string", {"Odbc": {"IndexConnectionString": "DSN=x;UID=u;PWD=%s" % CANARY}}),
    ("peer list form", {"OrthancPeers": {"site": ["https://peer:8043/", "alice", CANARY]}}),
    ("peer dict form", {"OrthancPeers": {"site": {"Url": "https://peer/", "Username": "a", "Password": CANARY}}}),
    ("peer key password", {"OrthancPeers": {"site": {"Url": "https://p/", "CertificateKeyPassword": CANARY}}}),
    ("peer headers", {"OrthancPeers": {"site": {"Url": "https://p/", "HttpHeaders": {"Token": CANARY}}}}),
    ("peer url userinfo", {"OrthancPeers": {"site": ["https://alice:%s@peer/" % CANARY]}}),
    ("dicomweb list form", {"DicomWeb": {"Servers": {"cloud": ["https://dicom/", "u", CANARY]}}}),
    ("dicomweb password", {"DicomWeb": {"Servers": {"cloud": {"Url": "https://d/", "Password": CANARY}}}}),
    ("dicomweb authorization", {"DicomWeb": {"Servers": {"cloud": {"Url": "https://d/",
                                                                    "HttpHeaders": {"Authorization": CANARY}}}}}),
    ("header name lower case", {"DicomWeb": {"Servers": {"c": {"HttpHeaders": {"authorization": "Bearer " + CANARY}}}}}),
    ("header name upper case", {"DicomWeb": {"Servers": {"c": {"HttpHeaders": {"AUTHORIZATION": CANARY}}}}}),
    ("custom api key header", {"DicomWeb": {"Servers": {"c": {"HttpHeaders": {"X-Api-Key": CANARY}}}}}),
    ("headers key any case", {"DicomWeb": {"Servers": {"c": {"httpHeaders": {"Cookie": CANARY}}}}}),
    ("oauth client secret", {"DicomWebOAuth": {"Servers": {"azure": {"ClientId": "id", "ClientSecret": CANARY}}}}),
    ("oauth static token", {"DicomWebOAuth": {"Servers": {"azure": {"StaticToken": CANARY}}}}),
    ("router database", {"MedimagingRouter": {"Database": {"Host": "db", "Password": CANARY}}}),
    ("priors database uri", {"MedimagingPriors": {"Database": {"ConnectionUri": "postgresql://u:%s@db/o" % CANARY}}}),
    ("archive token server", {"MedimagingArchive": {"TokenServer": {"ClientSecret": CANARY}}}),
    ("sas in container url", {"MedimagingArchive": {"ContainerUrl": "https://a.blob/c?sv=2025&sig=%s" % CANARY}}),
    ("azure blob plugin", {"AzureBlobStorage": {"ConnectionString": "AccountName=a;AccountKey=%s;" % CANARY}}),
    ("s3 plugin", {"AwsS3Storage": {"AccessKey": CANARY + "id", "SecretKey": CANARY}}),
    ("authorization plugin", {"Authorization": {"WebServiceUrl": "https://auth/", "WebServicePassword": CANARY}}),
    ("http proxy", {"HttpProxy": "proxyuser:%s@proxy:3128" % CANARY}),
    ("http proxy with scheme", {"HttpProxy": "http://proxyuser:%s@proxy:3128" % CANARY}),
    ("numeric password", {"PostgreSQL": {"Password": 12345, "Note": CANARY + " is not here"}}),
    ("secret in a list of dicts", {"Whatever": [{"Name": "x", "Password": CANARY}]}),
    ("deeply nested", {"A": {"B": [{"C": {"D": ["mysql://u:%s@h/db" % CANARY]}}]}}),
    ("jwt anywhere", {"Note": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.%s" % CANARY}),
]


@pytest.mark.parametrize("where, config", SECRET_PLACES, ids=[p[0] for p in SECRET_PLACES])
def test_no_secret_survives(where, config):
    if where == "numeric password":
        assert mask_secrets(config)["PostgreSQL"]["Password"] == MASK
        return
    assert leaks(config), where  # the case really holds the canary
    assert not leaks(mask_secrets(config)), where
    assert not leaks(mask_secrets(config, salt=b"s" * 16)), where


def test_non_secrets_stay_visible():
    config = {"HttpPort": 8042, "DicomAet": "PACS", "AuthenticationEnabled": True,
              "RegisteredUsers": {"alice": "pw-alice-123"},
              "OrthancPeers": {"site": ["https://peer:8043/", "alice", "pw"]},
              "DicomWeb": {"Servers": {"c": {"Url": "https://d/", "HttpHeaders": {"Accept": "application/json",
                                                                                   "Authorization": "Bearer abcdefgh"}}}},
              "DicomModalities": {"ct": ["CT1", "10.0.0.5", 104]},
              "DicomWebOAuth": {"Servers": {"a": {"ClientSecretFile": "/run/secrets/cs", "TokenEndpoint": "https://t/",
                                                  "ClientSecretEnv": "CS"}}},
              "PostgreSQL": {"ConnectionUri": "postgresql://orthanc:pw@db:5432/orthanc", "Host": "db"},
              "DicomTlsPrivateKey": "/etc/orthanc/dicom.key"}
    shown = mask_secrets(config)
    assert shown["HttpPort"] == 8042 and shown["AuthenticationEnabled"] is True
    assert shown["RegisteredUsers"] == {"alice": MASK}
    assert shown["OrthancPeers"]["site"] == ["https://peer:8043/", "alice", MASK]
    headers = shown["DicomWeb"]["Servers"]["c"]["HttpHeaders"]
    assert headers == {"Accept": "application/json", "Authorization": MASK}
    assert shown["DicomModalities"] == config["DicomModalities"]
    assert shown["DicomWebOAuth"] == config["DicomWebOAuth"]  # where a secret lives is not a secret
    assert shown["PostgreSQL"]["ConnectionUri"] == "postgresql://orthanc:%s@db:5432/orthanc" % MASK
    assert shown["DicomTlsPrivateKey"] == "/etc/orthanc/dicom.key"
    assert config["RegisteredUsers"]["alice"] == "pw-alice-123"  # the input is not changed


def test_fingerprints_show_a_rotation_without_the_values():
    salt = b"0123456789abcdef"
    old = mask_secrets({"DicomWebOAuth": {"Servers": {"a": {"ClientSecret": "old-secret"}}}}, salt)
    new = mask_secrets({"DicomWebOAuth": {"Servers": {"a": {"ClientSecret": "new-secret"}}}}, salt)
    same = mask_secrets({"DicomWebOAuth": {"Servers": {"a": {"ClientSecret": "new-secret"}}}}, salt)
    assert old != new and new == same
    other_run = mask_secrets({"DicomWebOAuth": {"Servers": {"a": {"ClientSecret": "new-secret"}}}}, b"another-salt-xx")
    assert other_run != new  # the fingerprint means nothing outside its run
    assert new["DicomWebOAuth"]["Servers"]["a"]["ClientSecret"].startswith(MASK)


@pytest.mark.parametrize("text", [
    "postgresql://u:%s@db/o" % CANARY,
    "host=db user=u password=%s dbname=o" % CANARY,
    "host=db password='%s with space' dbname=o" % CANARY,
    "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=%s;EndpointSuffix=x" % CANARY,
    "https://a.blob.core.windows.net/c?sp=r&sig=%s&se=2030" % CANARY,
    "https://x/?access_token=%s" % CANARY,
    "Authorization: Bearer %s" % CANARY,
    "Basic %s" % CANARY,
])
def test_mask_string(text):
    assert CANARY not in mask_string(text)
    assert CANARY not in mask_string(text, salt=b"k" * 16)


@pytest.mark.parametrize("key, secret", [
    ("Password", True), ("password", True), ("CertificateKeyPassword", True), ("ClientSecret", True),
    ("client_secret", True), ("StaticToken", True), ("SecretKey", True), ("ConnectionString", True),
    ("ClientSecretFile", False), ("ClientSecretEnv", False), ("TokenEndpoint", False), ("Url", False),
    ("AuthenticationEnabled", False), ("DicomTlsPrivateKey", False), ("Username", False),
])
def test_secret_key_names(key, secret):
    assert is_secret_key(key) is secret


def test_mask_env_by_name_structure_and_uri():
    env = {"AZURE_CLIENT_SECRET": CANARY, "AZURE_CLIENT_ID": "app-id", "TCP_NODELAY": "1",
           "ORTHANC__POSTGRESQL__PASSWORD": CANARY,
           "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE__CLIENT_SECRET": CANARY,
           "ORTHANC__REGISTERED_USERS": json.dumps({"alice": CANARY}),
           "ORTHANC__ORTHANC_PEERS": json.dumps({"site": ["https://p/", "u", CANARY]}),
           "ORTHANC__DICOM_WEB__SERVERS": json.dumps({"c": {"Url": "https://d/", "HttpHeaders": {"authorization": CANARY}}}),
           "DATABASE_URL": "postgresql://u:%s@db/o" % CANARY, "ARCHIVE_SAS_TOKEN": "sv=1&sig=" + CANARY}
    shown = mask_env(env)
    assert not leaks(shown)
    assert shown["AZURE_CLIENT_ID"] == "app-id" and shown["TCP_NODELAY"] == "1"
    assert json.loads(shown["ORTHANC__REGISTERED_USERS"]) == {"alice": MASK}
    assert json.loads(shown["ORTHANC__ORTHANC_PEERS"])["site"][:2] == ["https://p/", "u"]
