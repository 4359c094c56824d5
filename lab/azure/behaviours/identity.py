"""Managed identities: a user-assigned identity gets principalId/clientId/tenantId at creation (kept on
update); a federated credential must name issuer, subject and audiences (Entra checks assertions
against them), at most 20 per identity.
"""
import uuid

from lab.azure.behaviours import Behaviour
from lab.azure.web import HttpError

MAX_CREDENTIALS = 20  # Entra ID's limit per user-assigned identity


class UserAssignedIdentity(Behaviour):
    def prepare(self, ctx, record, previous):
        props = record["body"].setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        props["tenantId"] = ctx.facts["tenantId"]
        props["principalId"] = kept.get("principalId") or str(uuid.uuid4())
        props["clientId"] = kept.get("clientId") or str(uuid.uuid4())


class FederatedCredential(Behaviour):
    def prepare(self, ctx, record, previous):
        props = record["body"].get("properties") or {}
        issuer = props.get("issuer", "")
        if not issuer.startswith("https://"):
            raise HttpError(400, "BadRequest", f"Issuer '{issuer}' is not a valid https URL.")
        if not props.get("subject"):
            raise HttpError(400, "BadRequest", "The subject of a federated identity credential is required.")
        if not props.get("audiences"):
            raise HttpError(400, "BadRequest", "A federated identity credential needs at least one audience.")
        siblings = ctx.store.children_of(record["body"]["id"].rsplit("/", 2)[0])
        others = [r for r in siblings if r["body"]["id"].lower() != record["body"]["id"].lower()]
        if len(others) >= MAX_CREDENTIALS:
            raise HttpError(400, "BadRequest", f"The identity already has {len(others)} federated identity "
                            f"credentials: at most {MAX_CREDENTIALS} are allowed per identity.")
        for other in siblings:
            other_props = other["body"].get("properties", {})
            if other["body"]["id"].lower() != record["body"]["id"].lower() and \
                    (other_props.get("issuer"), other_props.get("subject")) == (issuer, props["subject"]):
                raise HttpError(400, "BadRequest", f"A federated identity credential with issuer '{issuer}' and "
                                f"subject '{props['subject']}' already exists on this identity.")
