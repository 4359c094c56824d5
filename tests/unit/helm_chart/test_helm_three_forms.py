"""One model, three forms: the same inputs give the same Orthanc configuration as host JSON (orthanc_config's
build_config, what orthanc_host writes), as container variables (to_env, read back by the image's entrypoint) and
through the chart (`helm template`: its ConfigMap, its env and its secret files, read by the same entrypoint)."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_config as model
from helm_chart_render import CLOUD_FILES, REPO, render

_spec = importlib.util.spec_from_file_location("medimaging_entrypoint_for_helm",
                                               os.path.join(REPO, "images", "orthanc", "entrypoint.py"))
entrypoint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(entrypoint)

SECRETS = "/run/medimaging/secrets/"
USERS = {"radiology": "long-enough-password-1", "scraper": "another-password-2"}
PG_USER, PG_PASSWORD = "orthanc", "pg-password-123"
SERVER = {"Url": "https://ws-dicom.dicom.azurehealthcareapis.com/v2/", "Provider": "client_credentials",
          "TokenEndpoint": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token", "ClientId": "app-id",
          "Scope": "https://dicom.healthcareapis.azure.com/.default",
          "ClientSecretFile": SECRETS + "oauth-azure-dicom-client-secret"}
ROUTER = {"Workers": 2, "Destinations": {"cloud": {"Type": "dicomweb", "Server": "azure-dicom",
                                                   "Modalities": ["CT", "MR"]}}}
EXTRA = {"DicomWeb": {"StudiesMetadata": "Full"}, "OrthancPeers": {"site-b": ["https://b.example.org/"]},
         "RemoteAccessAllowed": True}
TLS = {name: SECRETS + "dicom-tls-" + name.replace("_", "-") for name in ("certificate", "private_key")}

# The inputs in orthanc_config's vocabulary (the orthanc_host role's) ...
HOST_SPEC = {
    "name": "Radiology", "storage_dir": "/var/lib/orthanc/db", "http_port": 8042, "dicom_port": 4242,
    "dicom_aet": "RAD_PACS", "remote_access_allowed": True, "authentication_enabled": True, "users": USERS,
    "stable_age": 30, "concurrent_jobs": 4, "http_threads": 40, "maximum_storage_cache_size_mb": 0,
    "dicom_check_called_aet": True,
    "postgresql": {"enabled": True, "host": "db.example.org", "port": 5433, "database": "pacs", "username": PG_USER,
                   "password": PG_PASSWORD, "ssl": True, "lock": False},
    "dicomweb": {"root": "/dicom-web/"},
    "python": {"script": entrypoint.PLUGIN_SCRIPT, "sections": {
        "DicomWebOAuth": {"RefreshMarginSeconds": 120, "Servers": {"azure-dicom": SERVER}},
        "MedimagingRouter": ROUTER}},
    "dicom_tls": dict(TLS, enabled=True, trusted_certificates=SECRETS + "dicom-tls-trusted-certificates",
                      remote_certificate_required=True),
    "extra": EXTRA,
}
# ... and the same inputs in the chart's.
CHART_VALUES = {
    "orthanc": {"name": "Radiology", "dicomAet": "RAD_PACS", "httpPort": 8042, "dicomPort": 4242, "stableAge": 30,
                "concurrentJobs": 4, "httpThreads": 40, "maximumStorageCacheSizeMb": 0, "dicomCheckCalledAet": True},
    "auth": {"existingSecret": "orthanc-users", "usersKey": "users"},
    "database": {"external": {"host": "db.example.org", "port": 5433, "database": "pacs", "sslMode": "require",
                              "credentialsSecret": {"name": "orthanc-db"}}},
    "oauthPlugin": {"enabled": True, "settings": {"RefreshMarginSeconds": 120}, "servers": {"azure-dicom": {
        "url": SERVER["Url"], "authentication": {
            "type": "client-credentials", "tokenEndpoint": SERVER["TokenEndpoint"], "clientId": "app-id",
            "scope": SERVER["Scope"], "clientSecret": {"secretName": "dicom-client", "key": "secret"}}}}},
    "plugin": {"router": ROUTER},
    "dicom": {"tls": {"enabled": True, "certificate": {"secretName": "tls", "key": "tls.crt"},
                      "privateKey": {"secretName": "tls", "key": "tls.key"},
                      "trustedCertificates": {"secretName": "tls", "key": "ca.crt"}}},
    "config": EXTRA,
}
# What the Kubernetes Secrets hold, by the file name the chart mounts them under.
SECRET_FILES = {"registered-users": json.dumps(USERS), "postgresql-username": PG_USER,
                "postgresql-password": PG_PASSWORD}


def chart_form(docs, tmp_path):
    """The configuration Orthanc gets in the chart's pod: the entrypoint over the ConfigMap, env and secret files."""
    etc, secrets = tmp_path / "etc", tmp_path / "secrets"
    etc.mkdir(parents=True)
    secrets.mkdir()
    (etc / "orthanc.json").write_text(docs.get("ConfigMap")["data"]["orthanc.json"])
    mounted = set()
    for source in docs.volume("secrets")["projected"]["sources"]:
        mounted.add(source["secret"]["items"][0]["path"])
    env = {}
    for name, value in docs.env.items():
        assert value.startswith(SECRETS), "%s carries a value, not a secret file" % name
        alias = value[len(SECRETS):]
        assert alias in mounted, "%s points at %s, which no volume mounts" % (name, value)
        (secrets / alias).write_text(SECRET_FILES[alias] + "\n")
        env[name] = str(secrets / alias)
    config, _ = entrypoint.build(env, config_dirs=(str(etc),), secrets_dir=str(tmp_path / "none"))
    return config


def container_form(host, tmp_path):
    config, _ = entrypoint.build(model.to_env(host), config_dirs=(), secrets_dir=str(tmp_path / "none"))
    # Names that are data (servers, router destinations) do not keep their case through variables: they come back
    # as containers spell them (AZURE-DICOM, Cloud); the plugin matches them ignoring case. The chart keeps them
    # exact, as it renders JSON.
    for section, key in (("DicomWebOAuth", "Servers"), ("MedimagingRouter", "Destinations")):
        config[section][key] = {name.lower(): value for name, value in config[section][key].items()}
    return config


def test_host_json_container_env_and_chart_agree(tmp_path):
    host = model.build_config(HOST_SPEC)
    expected = model.deep_merge(entrypoint.DEFAULTS, host)  # the image adds its defaults under every form
    expected["Python"]["Path"] = host["PythonScript"]
    chart = chart_form(render(CHART_VALUES, required=False), tmp_path / "chart")
    container = container_form(host, tmp_path / "container")
    assert chart == expected
    assert container == expected


@pytest.mark.parametrize("change", [
    {"orthanc": {"stableAge": 31}}, {"database": {"external": {"sslMode": "disable"}}},
    {"config": {"DicomWeb": {"StudiesMetadata": "MainDicomTags"}}}, {"orthanc": {"dicomAet": "OTHER"}},
])
def test_a_changed_chart_input_no_longer_agrees(change, tmp_path):
    """The comparison has teeth: one value changed on the chart side only shows up as a difference."""
    host = model.deep_merge(entrypoint.DEFAULTS, model.build_config(HOST_SPEC))
    host["Python"]["Path"] = host["PythonScript"]
    values = model.deep_merge(CHART_VALUES, change)
    assert chart_form(render(values, required=False), tmp_path) != host


# What the workload identity webhook injects into a pod labelled azure.workload.identity/use (REFERENCE.md).
WEBHOOK_ENV = {"AZURE_CLIENT_ID": "client", "AZURE_TENANT_ID": "tenant",
               "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
               "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/wi/token/azure-identity-token"}


def plugin_check(config, tmp_path, env=None):
    """files/orthanc-plugin's own validation (the orthanc_host role runs it too) over a configuration."""
    path, env_file = tmp_path / "orthanc.json", tmp_path / "orthanc.env"
    path.write_text(json.dumps(config))
    env_file.write_text("".join("%s=%s\n" % item for item in (env or {}).items()))
    token_file = (env or {}).get("AZURE_FEDERATED_TOKEN_FILE")
    will_exist = ["--will-exist", token_file] if token_file else []  # projected into the pod by the webhook
    for value in _strings(config):
        if value.startswith("/run/medimaging/"):
            will_exist += ["--will-exist", value]
    return subprocess.run([sys.executable, "-m", "medimaging_plugin.config.check", "--env-file", str(env_file)]
                          + will_exist + [str(path)], cwd=os.path.join(REPO, "files", "orthanc-plugin"),
                          capture_output=True, text=True, timeout=60, check=False)


def _strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


@pytest.mark.parametrize("values_file", (None,) + CLOUD_FILES)
def test_the_plugin_accepts_what_the_chart_renders(values_file, tmp_path):
    docs = render(CHART_VALUES, required=False) if values_file is None else render(files=(values_file,))
    labelled = docs.pod["metadata"]["labels"].get("azure.workload.identity/use") == "true"
    result = plugin_check(docs.config, tmp_path, WEBHOOK_ENV if labelled else None)
    assert result.returncode == 0, result.stdout + result.stderr
