"""One CamelCase -> UPPER_SNAKE rule on both sides: the collection writes container variables with
module_utils/orthanc_config.env_name(), the plugin reads its sections with medimaging_plugin.names.env_name().
The plugin cannot import the collection at runtime, so both answer this one table (the orthancteam images' rule:
words split at case changes, acronym runs kept together, and the names their images spell otherwise).

Named entries cannot keep their case through an upper-case variable: both sides read them back the same way
(an existing entry matched ignoring case and punctuation, else lower case), and a reference finds them ignoring case.
"""
import pytest

from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_config as model
from medimaging_plugin import names
from medimaging_plugin.config.oauth import load_oauth_settings
from medimaging_plugin.priors.config import load_priors_settings
from medimaging_plugin.router.config import load_router_settings

TABLE = [
    ("HttpsCACertificates", "HTTPS_CA_CERTIFICATES"),
    ("DicomAet", "DICOM_AET"),
    ("HttpPort", "HTTP_PORT"),
    ("StableAge", "STABLE_AGE"),
    ("DicomWeb", "DICOM_WEB"),
    ("StudiesMetadata", "STUDIES_METADATA"),
    ("SslCertificate", "SSL_CERTIFICATE"),
    ("HasWadoRsUniversalTransferSyntax", "HAS_WADO_RS_UNIVERSAL_TRANSFER_SYNTAX"),
    ("DicomTlsRemoteCertificateRequired", "DICOM_TLS_REMOTE_CERTIFICATE_REQUIRED"),
    ("MaximumStorageCacheSize", "MAXIMUM_STORAGE_CACHE_SIZE"),
    ("Enable", "ENABLE"),
    ("ODBC", "ODBC"),
    ("PostgreSQL", "POSTGRESQL"),
    ("MySQL", "MYSQL"),
    ("DicomWebOAuth", "DICOMWEB_OAUTH"),
    ("OrthancExplorer2", "ORTHANC_EXPLORER_2"),
    ("Gdcm", "GDCM"),
    ("MedimagingRouter", "MEDIMAGING_ROUTER"),
    ("CaBundle", "CA_BUNDLE"),
    ("KmsKeyId", "KMS_KEY_ID"),
    ("TokenServer", "TOKEN_SERVER"),
    ("Http2Enabled", "HTTP2_ENABLED"),
]


@pytest.mark.parametrize("converter", [model.env_name, names.env_name], ids=["module_utils", "plugin"])
@pytest.mark.parametrize("key, variable", TABLE)
def test_both_sides_answer_the_table(converter, key, variable):
    assert converter(key) == variable


def test_both_sides_list_the_same_non_standard_names():
    assert names.NON_STANDARD_ENV_NAMES == model.NON_STANDARD_ENV_NAMES


@pytest.mark.parametrize("key", ["HttpsCACertificates", "PostgreSQL", "DicomWebOAuth", "DicomAet", "StudiesMetadata"])
def test_the_collection_reads_its_variables_back(key):
    assert model.json_key(model.env_name(key)) == key


PG = {"Host": "127.0.0.1", "Database": "orthanc", "Username": "orthanc"}
SERVER_VARIABLES = {
    "ORTHANC__DICOMWEB_OAUTH__SERVERS__CLOUD__URL": "https://ws.example/v2/",
    "ORTHANC__DICOMWEB_OAUTH__SERVERS__CLOUD__STATIC_TOKEN": "static-token-value",
    "ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__CLOUD__MODALITIES": "CT",
    "ORTHANC__MEDIMAGING_PRIORS__SERVER": "Cloud",
}


def _plugin_view(config, environ):
    oauth = load_oauth_settings(config, environ)
    router = load_router_settings(config, environ)
    priors = load_priors_settings(config, environ)
    return ([server.name for server in oauth.servers], [(d.name, d.server) for d in router.destinations],
            priors.server)


def test_names_survive_the_image_entrypoint_and_the_plugin_alike():
    # The project image's entrypoint turns the variables into Orthanc's JSON (from_env, not strict); the plugin
    # then reads that JSON and the same variables. Either way the server and the destination are "cloud".
    config = model.from_env(SERVER_VARIABLES, reference={"PostgreSQL": PG}, strict=False)
    assert set(config["DicomWebOAuth"]["Servers"]) == {"cloud"}
    assert set(config["MedimagingRouter"]["Destinations"]) == {"cloud"}
    config["PostgreSQL"] = PG
    assert _plugin_view(config, SERVER_VARIABLES) == (["cloud"], [("cloud", "cloud")], "cloud")
    assert _plugin_view({"PostgreSQL": PG}, SERVER_VARIABLES) == (["cloud"], [("cloud", "cloud")], "cloud")


def test_a_variable_overrides_the_json_entry_it_names_ignoring_case():
    reference = {"DicomWebOAuth": {"Servers": {"Azure-Dicom": {"Url": "https://ws.example/v2/"}}}}
    variables = {"ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__STATIC_TOKEN": "static-token-value"}
    converted = model.from_env(variables, reference=reference, strict=False)
    assert set(converted["DicomWebOAuth"]["Servers"]) == {"Azure-Dicom"}
    (server,) = load_oauth_settings(reference, variables).servers
    assert server.name == "Azure-Dicom" and server.provider == "static"


def test_a_reference_finds_its_server_ignoring_case_and_answers_its_spelling():
    config = {"PostgreSQL": PG, "DicomWeb": {"Servers": {"AzureDicom": {"Url": "https://ws.example/v2/"}}},
              "MedimagingRouter": {"Destinations": {"azuredicom": {}}}, "MedimagingPriors": {"Server": "AZUREDICOM"}}
    (destination,) = load_router_settings(config, {}).destinations
    assert destination.server == "AzureDicom"
    assert load_priors_settings(config, {}).server == "AzureDicom"


def test_a_reference_matching_two_servers_ignoring_case_is_refused():
    config = {"PostgreSQL": PG, "DicomWeb": {"Servers": {"Cloud": {"Url": "https://a.example/"},
                                                         "CLOUD": {"Url": "https://b.example/"}}},
              "MedimagingRouter": {"Destinations": {"cloud": {}}}}
    with pytest.raises(ValueError, match="MedimagingRouter.Destinations.cloud.Server: DICOMweb server 'cloud' is not"):
        load_router_settings(config, {})
