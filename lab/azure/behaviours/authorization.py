"""Role assignments, checked as ARM checks them: a GUID name, an existing role definition and principal,
no duplicate (same scope, role, principal) under another name, and no in-place change.
"""
import re

from lab.azure import principals, rbac
from lab.azure.behaviours import Behaviour
from lab.azure.web import HttpError

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.IGNORECASE)


class RoleAssignment(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        if not _GUID.match(body["name"]):
            raise HttpError(400, "InvalidRoleAssignmentId", f"The role assignment ID '{body['name']}' is not valid. "
                            "The role assignment ID must be a GUID.")
        props = body["properties"]
        scope = body["id"].rsplit("/providers/", 1)[0]
        guid = rbac.role_guid(props.get("roleDefinitionId", ""))
        if guid not in rbac.BY_GUID:
            raise HttpError(400, "RoleDefinitionDoesNotExist", "The specified role definition with ID "
                            f"'{guid}' does not exist.")
        principal = principals.find_by_object_id(ctx.store, props.get("principalId", ""))
        if not principal:
            raise HttpError(400, "PrincipalNotFound", f"Principal {props.get('principalId')} does not exist in the "
                            f"directory {ctx.facts['tenantId']}. Check that you have the correct principal ID. If you "
                            "are creating this principal and then immediately assigning a role, this error might be "
                            "related to a replication delay.")
        props["scope"] = scope
        props["roleDefinitionId"] = f"/subscriptions/{ctx.facts['subscriptionId']}/providers/{rbac.ROLE_TYPE}/{guid}"
        props.setdefault("principalType", principal["principalType"])
        if previous:
            old = previous["body"]["properties"]
            if (old["roleDefinitionId"].lower(), old["principalId"].lower()) != \
                    (props["roleDefinitionId"].lower(), props["principalId"].lower()):
                raise HttpError(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, "
                                "and scope are not allowed to be updated.")
            props["createdOn"] = old.get("createdOn")
        for other in ctx.store.resources(lambda r: r["body"]["type"].lower() == "microsoft.authorization/roleassignments"):
            o = other["body"]["properties"]
            if other["body"]["id"].lower() != body["id"].lower() and o["scope"].lower() == scope.lower() and \
                    o["principalId"].lower() == props["principalId"].lower() and \
                    rbac.role_guid(o["roleDefinitionId"]) == guid:
                raise HttpError(409, "RoleAssignmentExists", "The role assignment already exists.")
        props.setdefault("createdOn", body["systemData"]["createdAt"])
        props["updatedOn"] = body["systemData"]["lastModifiedAt"]
