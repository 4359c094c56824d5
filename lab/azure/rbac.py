"""Azure RBAC: the built-in role definitions the collection uses, and the permission check ARM and the
data planes apply (assignment scope covers the resource, a role's actions/dataActions match the action).
"""
import re

ROLE_TYPE = "Microsoft.Authorization/roleDefinitions"


def _role(guid, name, description, actions=(), not_actions=(), data_actions=(), not_data_actions=()):
    return {"guid": guid, "roleName": name, "description": description,
            "permissions": [{"actions": list(actions), "notActions": list(not_actions),
                             "dataActions": list(data_actions), "notDataActions": list(not_data_actions)}]}


BUILTIN_ROLES = [
    _role("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", "Grants full access to manage all resources, "
          "including the ability to assign roles in Azure RBAC.", actions=["*"]),
    _role("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", "Grants full access to manage all resources, "
          "but does not allow you to assign roles in Azure RBAC.", actions=["*"],
          not_actions=["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                       "Microsoft.Authorization/elevateAccess/Action"]),
    _role("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", "View all resources, but does not allow you to make "
          "any changes.", actions=["*/read"]),
    _role("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", "Lets you manage user access to "
          "Azure resources.", actions=["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"]),
    _role("58a3b984-7adf-4c20-983a-32417c86fbc8", "DICOM Data Owner", "Full access to DICOM data.",
          data_actions=["Microsoft.HealthcareApis/workspaces/dicomservices/resources/*"]),
    _role("e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a", "DICOM Data Reader", "Read and search DICOM data.",
          data_actions=["Microsoft.HealthcareApis/workspaces/dicomservices/resources/read"]),
    _role("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor", "Read, write, and delete "
          "Azure Storage containers and blobs.",
          actions=["Microsoft.Storage/storageAccounts/blobServices/containers/delete",
                   "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                   "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                   "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"],
          data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
                        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
                        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
                        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"]),
    _role("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader", "Read and list Azure Storage "
          "containers and blobs.",
          actions=["Microsoft.Storage/storageAccounts/blobServices/containers/read",
                   "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"],
          data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]),
    _role("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner", "Full access to Azure Storage blob "
          "containers and data, including assigning POSIX access control.",
          actions=["Microsoft.Storage/storageAccounts/blobServices/containers/*",
                   "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"],
          data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]),
    _role("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", "Read secret contents.",
          data_actions=["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                        "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]),
    _role("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer", "Perform any action on the "
          "secrets of a key vault.", actions=["Microsoft.KeyVault/vaults/*/read"],
          data_actions=["Microsoft.KeyVault/vaults/secrets/*"]),
    _role("7f951dda-4ed3-4680-a7ca-43fe172d538d", "AcrPull", "Pull artifacts from a container registry.",
          actions=["Microsoft.ContainerRegistry/registries/pull/read"]),
    _role("4abbcc35-e782-43d8-92c5-2d3f1bd2253f", "Azure Kubernetes Service Cluster User Role",
          "List cluster user credential action.",
          actions=["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
                   "Microsoft.ContainerService/managedClusters/read"]),
    _role("34e09817-6cbe-4d01-b1a2-e0eac5743d41", "Kubernetes Cluster - Azure Arc Onboarding",
          "Role definition to authorize any user/service to create connectedClusters resource",
          actions=["Microsoft.Resources/subscriptions/resourcegroups/read",
                   "Microsoft.Resources/subscriptions/resourcegroups/write",
                   "Microsoft.Kubernetes/connectedClusters/Write", "Microsoft.Kubernetes/connectedClusters/read"]),
]
BY_GUID = {r["guid"]: r for r in BUILTIN_ROLES}
DICOM_DATA_OWNER = "58a3b984-7adf-4c20-983a-32417c86fbc8"
DICOM_DATA_READER = "e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def role_definition(guid, scope, subscription_id):
    """A built-in role definition as ARM returns it at `scope`."""
    role = BY_GUID[guid]
    return {"id": f"/subscriptions/{subscription_id}/providers/{ROLE_TYPE}/{guid}", "name": guid, "type": ROLE_TYPE,
            "properties": {"roleName": role["roleName"], "type": "BuiltInRole", "description": role["description"],
                           "assignableScopes": ["/"], "permissions": role["permissions"],
                           "createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2024-01-01T00:00:00Z"}}


def role_guid(role_definition_id):
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _pattern(expr):
    return re.compile("^" + re.escape(expr).replace(r"\*", ".*") + r"\Z", re.IGNORECASE)


def _matches(patterns, action):
    return any(_pattern(p).match(action) for p in patterns)


def role_allows(guid, action, data=False):
    role = BY_GUID.get(guid)
    if not role:
        return False
    key, not_key = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return any(_matches(p[key], action) and not _matches(p[not_key], action) for p in role["permissions"])


def scope_covers(scope, resource_id):
    scope, resource_id = scope.rstrip("/").lower(), resource_id.rstrip("/").lower()
    return scope in ("", "/") or resource_id == scope or resource_id.startswith(scope + "/")


def is_allowed(assignments, principal_id, resource_id, action, data=False):
    """assignments: role assignment bodies; True when one held by principal_id grants action on resource_id."""
    for assignment in assignments:
        props = assignment.get("properties", {})
        if props.get("principalId") != principal_id:
            continue
        if scope_covers(props.get("scope", ""), resource_id) and \
                role_allows(role_guid(props.get("roleDefinitionId", "")), action, data):
            return True
    return False
