"""Microsoft.ManagedIdentity: identity and federated credential names (issuer, subject, audiences and the limit
of 20 credentials per identity are checked by lab.azure.behaviours.identity, which sees the siblings)."""
from lab.azure.rules.fields import matches, refuse

IDENTITY_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{2,127}"
CREDENTIAL_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{2,119}"


def identity(arm_path, body):
    if not matches(IDENTITY_NAME, arm_path.names[0]):
        refuse("InvalidResourceName", f"The user assigned identity name {arm_path.names[0]!r} is invalid: it must be "
               "3-128 characters of letters, digits, '-' and '_', starting with a letter or digit.")


def federated_credential(arm_path, body):
    identity(arm_path, body)
    name = arm_path.names[-1]
    if not matches(CREDENTIAL_NAME, name):
        refuse("BadRequest", f"The federated identity credential name {name!r} is invalid: it must be 3-120 "
               "characters of letters, digits, '-' and '_', starting with a letter or digit.")
