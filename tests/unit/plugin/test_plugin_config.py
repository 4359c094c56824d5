"""DicomWebOAuth validation: JSON and env-var forms, precedence, and errors that name the key."""
import pytest

from medimaging_plugin.config import ConfigError
from medimaging_plugin.config.oauth import DEFAULT_SCOPE, load_oauth_settings

AZURE_URL = "https://ws-dicom.dicom.azurehealthcareapis.com/v2"
ENTRA = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"


def cc_server(**extra):
    server = {"Url": AZURE_URL, "TokenEndpoint": ENTRA, "ClientId": "app-1", "ClientSecret": "s3cr3t-value"}
    server.update(extra)
    return server


def load(servers=None, env=None, **section):
    config = {}
    if servers is not None or section:
        config["DicomWebOAuth"] = dict(section, **({"Servers": servers} if servers is not None else {}))
    return load_oauth_settings(config, env or {})


def error_of(**kwargs):
    with pytest.raises(ConfigError) as caught:
        load(**kwargs)
    return caught.value


def test_absent_section_means_feature_not_configured():
    assert load_oauth_settings({"Name": "x"}, {}) is None


def test_client_credentials_defaults():
    settings = load({"azure": cc_server()})
    (server,) = settings.servers
    assert server.provider == "client_credentials"
    assert server.url == AZURE_URL + "/"  # Orthanc appends paths: normalised with a trailing slash
    assert server.scope == DEFAULT_SCOPE
    assert settings.refresh_margin == 300 and settings.retry_min == 2 and settings.retry_max == 300
    assert "s3cr3t-value" not in repr(server)  # secrets never in repr (and so never in a log of it)
    assert "s3cr3t-value" not in str(server.public_view())


def test_unknown_key_is_named_with_a_suggestion():
    err = error_of(servers={"azure": cc_server(ClientSecet="x")})
    assert err.key == "DicomWebOAuth.Servers.azure.ClientSecet"
    assert "ClientSecret" in str(err)
    err = error_of(servers={"azure": cc_server()}, RefreshMarginSecond=5)
    assert err.key == "DicomWebOAuth.RefreshMarginSecond" and "RefreshMarginSeconds" in str(err)


@pytest.mark.parametrize("server,key", [
    ({"TokenEndpoint": ENTRA, "ClientId": "a", "ClientSecret": "b"}, "DicomWebOAuth.Servers.s.Url"),
    (cc_server(TokenEndpoint=None), "DicomWebOAuth.Servers.s.TokenEndpoint"),
    (cc_server(ClientId=None), "DicomWebOAuth.Servers.s.ClientId"),
    (cc_server(Url="ftp://x/"), "DicomWebOAuth.Servers.s.Url"),
    (cc_server(Url="http://dicom.example.org/v2/"), "DicomWebOAuth.Servers.s.Url"),
    (cc_server(TokenEndpoint="http://login.example.org/token"), "DicomWebOAuth.Servers.s.TokenEndpoint"),
    (cc_server(Provider="kerberos"), "DicomWebOAuth.Servers.s.Provider"),
    (cc_server(UseManagedIdentity="yes"), "DicomWebOAuth.Servers.s.UseManagedIdentity"),
    (cc_server(ServerOptions={"HttpHeaders": {}}), "DicomWebOAuth.Servers.s.ServerOptions.HttpHeaders"),
    (cc_server(CaBundle="/nonexistent/ca.pem"), "DicomWebOAuth.Servers.s.CaBundle"),
    (cc_server(ClientSecret=None, ClientSecretFile="/nonexistent/secret"), "DicomWebOAuth.Servers.s.ClientSecretFile"),
    (cc_server(ClientSecret=None, ClientSecretEnv="NOT_SET_ANYWHERE"), "DicomWebOAuth.Servers.s.ClientSecretEnv"),
    ({"Url": AZURE_URL}, "DicomWebOAuth.Servers.s"),
])
def test_wrong_or_missing_keys_are_named(server, key):
    server = {k: v for k, v in server.items() if v is not None}
    assert error_of(servers={"s": server}).key == key


def test_plain_http_is_accepted_only_on_loopback():
    (server,) = load({"lab": cc_server(Url="http://127.0.0.1:8042/dicom-web/",
                                       TokenEndpoint="http://localhost:9000/token")}).servers
    assert server.url == "http://127.0.0.1:8042/dicom-web/"


def test_secret_sources_are_mutually_exclusive(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    err = error_of(servers={"s": cc_server(ClientSecretFile=str(secret_file))})
    assert "mutually exclusive" in str(err)


def test_secret_file_is_read_at_each_use(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("first\n")
    (server,) = load({"s": cc_server(ClientSecret=None, ClientSecretFile=str(secret_file))}).servers
    assert server.secret.read() == "first"
    secret_file.write_text("rotated")
    assert server.secret.read() == "rotated"


def test_environment_form_alone_defines_a_server():
    env = {
        "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__URL": AZURE_URL,
        "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__TOKEN_ENDPOINT": ENTRA,
        "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__CLIENT_ID": "app-2",
        "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__CLIENT_SECRET": "env-secret",
        "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__SCOPE": "api://dicom/.default",
        "ORTHANC__DICOMWEB_OAUTH__REFRESH_MARGIN_SECONDS": "120",
    }
    settings = load_oauth_settings({}, env)
    (server,) = settings.servers
    assert (server.name, server.client_id, server.scope) == ("azure_dicom", "app-2", "api://dicom/.default")
    assert server.secret.read() == "env-secret"
    assert settings.refresh_margin == 120.0


def test_environment_overrides_json_per_key_and_replaces_secret_sources(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file")
    servers = {"Azure-Dicom": cc_server(ClientSecret=None, ClientSecretFile=str(secret_file), Scope="json-scope")}
    env = {"ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__CLIENT_SECRET": "from-env",
           "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__CLIENT_ID": "env-app"}
    (server,) = load(servers, env).servers
    assert server.name == "Azure-Dicom"  # the JSON name wins: it is the name Orthanc users know
    assert (server.client_id, server.scope, server.secret.read()) == ("env-app", "json-scope", "from-env")


def test_environment_booleans_and_unknown_variables():
    env = {"ORTHANC__DICOMWEB_OAUTH__SERVERS__MI__URL": AZURE_URL,
           "ORTHANC__DICOMWEB_OAUTH__SERVERS__MI__USE_MANAGED_IDENTITY": "true",
           "AZURE_CLIENT_ID": "user-assigned-id"}
    (server,) = load_oauth_settings({}, env).servers
    assert (server.provider, server.client_id) == ("managed_identity", "user-assigned-id")
    assert server.imds_endpoint == "http://169.254.169.254/metadata/identity/oauth2/token"
    env["ORTHANC__DICOMWEB_OAUTH__SERVERS__MI__CLIENTSECRET"] = "typo"
    with pytest.raises(ConfigError) as caught:
        load_oauth_settings({}, env)
    assert caught.value.key == "ORTHANC__DICOMWEB_OAUTH__SERVERS__MI__CLIENTSECRET"


def test_managed_identity_prefers_identity_endpoint_and_needs_its_header():
    env = {"IDENTITY_ENDPOINT": "http://localhost:42356/msi/token", "IDENTITY_HEADER": "hdr"}
    (server,) = load({"mi": {"Url": AZURE_URL, "UseManagedIdentity": True}}, env).servers
    assert server.identity_endpoint == "http://localhost:42356/msi/token"
    assert server.identity_header.read(env) == "hdr"
    err = error_of(servers={"mi": {"Url": AZURE_URL, "UseManagedIdentity": True}},
                   env={"IDENTITY_ENDPOINT": "http://localhost:42356/msi/token"})
    assert err.key == "IDENTITY_ENDPOINT"


def test_workload_identity_from_the_aks_webhook_variables(tmp_path):
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("federated-jwt")
    env = {"AZURE_FEDERATED_TOKEN_FILE": str(token_file), "AZURE_CLIENT_ID": "wi-client",
           "AZURE_TENANT_ID": "tenant-9", "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"}
    (server,) = load({"aks": {"Url": AZURE_URL}}, env).servers
    assert server.provider == "workload_identity"
    assert server.token_endpoint == "https://login.microsoftonline.com/tenant-9/oauth2/v2.0/token"
    assert (server.client_id, server.federated_token_file) == ("wi-client", str(token_file))
    del env["AZURE_TENANT_ID"]
    assert error_of(servers={"aks": {"Url": AZURE_URL}}, env=env).key == "DicomWebOAuth.Servers.aks.TenantId"


def test_static_token_and_disabled_section():
    (server,) = load({"gw": {"Url": AZURE_URL, "StaticToken": "opaque"}}).servers
    assert server.provider == "static"
    settings = load({"gw": {"Url": AZURE_URL, "StaticToken": "opaque"}}, Enabled=False)
    assert not settings.enabled and settings.servers == ()


def test_retry_bounds_are_checked():
    assert error_of(servers={"s": cc_server()}, RetryMinSeconds=10, RetryMaxSeconds=5).key == \
        "DicomWebOAuth.RetryMaxSeconds"
    assert error_of(servers={"s": cc_server()}, RefreshMarginSeconds=-1).key == "DicomWebOAuth.RefreshMarginSeconds"
    assert error_of(servers={"s": cc_server()}, HttpTimeoutSeconds="ten").key == "DicomWebOAuth.HttpTimeoutSeconds"
