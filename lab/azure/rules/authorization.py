"""Microsoft.Authorization/roleAssignments: the principal is named by its object id, a GUID (ARM refuses anything
else before looking the principal up). The assignment name and role are checked by the behaviour."""
from lab.azure.rules.fields import dig, matches, refuse

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def role_assignment(arm_path, body):
    principal = dig(body, "properties", "principalId")
    if not matches(GUID, principal):
        refuse("InvalidPrincipalId", f"A valid principal ID must be provided for role assignment: "
               f"properties.principalId {principal!r} is not a GUID.")
