"""Helpers of test_secrets_in_output: canary secrets, roles run with --diff -vvv, and the search for the canaries.

A canary is a distinctive string set as a secret (client secret, passwords, tokens); after a run, no canary may
appear anywhere in ansible-playbook's stdout or stderr, while the files the role wrote do hold them.
"""
import grp
import os
import secrets
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.dirname(HERE)
for _path in (os.path.dirname(os.path.dirname(INTEGRATION)), os.path.join(INTEGRATION, "azure")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from lab.proc import free_port  # noqa: E402
from playbook_runner import run_local_playbook  # noqa: E402

LOUD = ("--diff", "-vvv")
AZURE_PLAYBOOK = os.path.join(HERE, "playbooks", "secrets_azure_role.yml")
HOST_PLAYBOOK = os.path.join(HERE, "playbooks", "secrets_orthanc_host.yml")


def canary(kind):
    """A distinctive secret: letters and digits only (valid as a password, a client secret, a header value)."""
    return "Cnry%s%s" % (kind.replace("_", "").capitalize(), secrets.token_hex(6))


def output_of(done):
    return (done.stdout or "") + "\n" + (done.stderr or "")


def found(text, values):
    """The canaries (name -> value) that appear in text."""
    return sorted(name for name, value in values.items() if value in text)


def where(text, values, limit=5):
    """The lines of text that hold a canary, each shown with <name> in its place (for a failure message)."""
    lines = []
    for line in text.splitlines():
        hits = [name for name, value in values.items() if value in line]
        for name in hits:
            line = line.replace(values[name], "<%s>" % name)
        if hits:
            lines.append(line[:300])
    return "\n".join(lines[:limit])


class HostCanaries:
    """Every secret the orthanc_host role can be given, each a canary; rotate() replaces them all."""

    KINDS = ("user_password", "db_password", "env_client_secret", "env_sas", "plugin_client_secret",
             "plugin_db_uri", "peer_list_password", "peer_dict_password", "peer_header", "dicomweb_list_password")

    def __init__(self):
        self.generations = []
        self.rotate()

    def rotate(self):
        self.current = dict((kind, canary(kind)) for kind in self.KINDS)
        self.generations.append(self.current)
        return self.current

    def every(self):
        """kind@generation -> value, for every canary ever used (old values must not show up either)."""
        return dict(("%s@%d" % (kind, n), value) for n, values in enumerate(self.generations)
                    for kind, value in values.items())

    def role_vars(self, user, client_id, stable_age):
        c = self.current
        closed = "http://127.0.0.1:9"  # nothing listens: Orthanc stores these entries, never calls them here
        return {
            "orthanc_host_users": {user: c["user_password"]},
            "orthanc_host_postgresql_password": c["db_password"],
            "orthanc_host_environment": {"AZURE_CLIENT_ID": client_id, "AZURE_CLIENT_SECRET": c["env_client_secret"],
                                         "MEDIMAGING_ARCHIVE_SAS": "sv=2025-11-05&sp=rw&sig=" + c["env_sas"]},
            "orthanc_host_plugin_enabled": True,
            # Sections switched off: the plugin loads them (and the role writes them) but calls nothing.
            "orthanc_host_plugin_sections": {
                "DicomWebOAuth": {"Enabled": False, "Servers": {"cloud": {
                    "Url": closed + "/dicom-web/", "Provider": "client_credentials", "TokenEndpoint": closed + "/token",
                    "ClientId": client_id, "ClientSecret": c["plugin_client_secret"]}}},
                "MedimagingRouter": {"Enabled": False, "Database": {
                    "ConnectionUri": "postgresql://router:%s@127.0.0.1:9/orthanc" % c["plugin_db_uri"]}}},
            "orthanc_host_extra_config": {
                "OrthancPeers": {"site": [closed + "/", "peer", c["peer_list_password"]],
                                 "site2": {"Url": closed + "/", "Username": "peer", "Password": c["peer_dict_password"],
                                           "HttpHeaders": {"authorization": "Bearer " + c["peer_header"]}}},
                "DicomWeb": {"Servers": {"cloud": [closed + "/dicom-web/", "dw", c["dicomweb_list_password"]]}}},
            "orthanc_host_stable_age": stable_age,
        }


class ConfigOnlyHost:
    """orthanc_host's secret-bearing tasks (plugin.yml, config.yml) on this machine, into folders of a temporary base."""

    def __init__(self, base):
        self.config_dir = os.path.join(base, "etc")
        self.workdir = os.path.join(base, "work")
        for folder in (self.config_dir, self.workdir):
            os.makedirs(folder, mode=0o700)
        self.paths = {"orthanc_host_config_dir": self.config_dir, "orthanc_host_data_dir": os.path.join(base, "data"),
                      "orthanc_host_plugin_dir": os.path.join(base, "plugin")}

    def run_role(self, extra_vars, label, flags=LOUD):
        return run_local_playbook(HOST_PLAYBOOK, dict(extra_vars, **self.paths), self.workdir, label, 600, args=flags)

    def files_text(self):
        text = ""
        for name in ("orthanc.json", "orthanc.env"):
            with open(os.path.join(self.config_dir, name), encoding="utf-8") as handle:
                text += handle.read()
        return text


def host_skip_reason():
    """Why the role's tasks cannot run here (a sentence), or None."""
    if os.geteuid() != 0:
        return "the role's files belong to root: run as root"
    try:
        grp.getgrnam("orthanc")
    except KeyError:
        return "no 'orthanc' group (orthanc_host_group): run `make setup` (the Debian package orthanc creates it)"
    return None


def azure_role_vars(role, state, client_secret, admin_password):
    """Inputs of one Azure role with a canary client secret (and admin password), every endpoint a closed port."""
    closed = "https://127.0.0.1:%d" % free_port()
    env = {"AZURE_ARM_ENDPOINT": closed, "AZURE_AUTHORITY_HOST": closed, "AZURE_SUBSCRIPTION_ID":
           "00000000-0000-0000-0000-000000000000", "AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
           "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000002", "AZURE_CLIENT_SECRET": client_secret}
    inputs = {
        "azure_dicom": {"azure_dicom_resource_group": "rg-secrets", "azure_dicom_location": "westeurope",
                        "azure_dicom_workspace_name": "wssecrets", "azure_dicom_service_name": "dicomsecrets"},
        "blob_archive": {"blob_archive_resource_group": "rg-secrets", "blob_archive_location": "westeurope",
                         "blob_archive_account_name": "stsecrets01"},
        "postgres_flexible": {"postgres_flexible_resource_group": "rg-secrets", "postgres_flexible_location": "westeurope",
                              "postgres_flexible_server_name": "pg-secrets", "postgres_flexible_network_mode": "public",
                              "postgres_flexible_admin_password": admin_password},
    }[role]
    prefix = role + "_state"
    return dict(inputs, azure_environment=env, secrets_role="medimaging.orthanc." + role, **{prefix: state})


def azure_lab_fixture():
    """The session fixture azure_lab of tests/integration/azure/conftest.py (reuse a running lab, else start one),
    loaded here because this folder's conftest is not ours to write."""
    import importlib.util
    path = os.path.join(INTEGRATION, "azure", "conftest.py")
    spec = importlib.util.spec_from_file_location("badinput_secrets_azure_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.azure_lab
