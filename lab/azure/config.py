"""Where the lab keeps its files, and the facts the launcher recorded (lab.json) that the emulator reads."""
import json
import os
import secrets
import uuid

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_LOCATION = "westeurope"


def lab_dir():
    """LAB_DIR, or <repo>/.lab."""
    return os.path.abspath(os.environ.get("LAB_DIR") or os.path.join(REPO_ROOT, ".lab"))


def write_private_json(path, data):
    """JSON written 0600 and atomically: the file holds secrets."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


class LabLayout:
    """Paths of everything under one lab directory."""

    def __init__(self, root=None):
        self.root = os.path.abspath(root or lab_dir())
        self.facts_file = os.path.join(self.root, "lab.json")
        self.ca_dir = os.path.join(self.root, "ca")
        self.postgres_dir = os.path.join(self.root, "postgres")
        self.postgres_data = os.path.join(self.postgres_dir, "data")
        self.azurite_dir = os.path.join(self.root, "azurite")
        self.azure_dir = os.path.join(self.root, "azure")
        self.emulator_pidfile = os.path.join(self.azure_dir, "emulator.pid")
        self.emulator_log = os.path.join(self.azure_dir, "emulator.log")
        self.state_file = os.path.join(self.azure_dir, "state.json")
        self.request_log = os.path.join(self.azure_dir, "requests.jsonl")
        self.signing_key = os.path.join(self.azure_dir, "signing-key.pem")
        self.dicom_dir = os.path.join(self.azure_dir, "dicom")
        self.lock_file = os.path.join(self.root, "launcher.lock")

    def load_facts(self):
        with open(self.facts_file, encoding="utf-8") as handle:
            return json.load(handle)

    def save_facts(self, facts):
        write_private_json(self.facts_file, facts)


def new_facts(ports):
    """Identities of a fresh lab: tenant, subscription, the admin service principal and its secret."""
    return {
        "tenantId": str(uuid.uuid4()),
        "subscriptionId": str(uuid.uuid4()),
        "location": DEFAULT_LOCATION,
        "admin": {"displayName": "lab-admin", "clientId": str(uuid.uuid4()), "objectId": str(uuid.uuid4()),
                  "applicationObjectId": str(uuid.uuid4()), "clientSecret": secrets.token_urlsafe(32)},
        "ports": dict(ports),
    }
