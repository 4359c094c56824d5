"""The resource types the emulator knows: one line each (SDK models, LRO shapes, behaviour).

LRO shapes (what real ARM answers and the SDKs accept; see LAB-NOTES):
  sync                synchronous 200/201 (or 200/204 on delete)
  sync-200            synchronous 200 with the body on create as on update (storage management policies)
  201-async           201 + body + Azure-AsyncOperation
  201-body            201 + body with a non-terminal provisioningState; clients poll the resource
  202-location        202 + Location (storage style: 202 until 200 with the resource)
  202-async-location  202 + Azure-AsyncOperation + Location (PostgreSQL flexible: 201 is refused)
A package of None means the SDK is not installed: the body is checked for ARM's envelope only,
until the SDK is added to requirements and named here.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceType:
    type: str
    package: str = None
    put_models: tuple = ()
    patch_models: tuple = ()
    create: str = "201-async"
    update: str = None           # default: same as create
    patch: str = "sync"
    delete: str = "202-location"
    tracked: bool = True         # has a location (and it cannot change)
    behaviour: str = None        # "module:Class" under lab.azure.behaviours
    actions: tuple = field(default_factory=tuple)  # POST actions the behaviour implements
    closed: bool = False         # unknown keys refused (services whose SDK models check nothing client-side)

    @property
    def key(self):
        return self.type.lower()


HC = "azure.mgmt.healthcareapis"
ST = "azure.mgmt.storage"
PG = "azure.mgmt.postgresqlflexibleservers"
MSI = "azure.mgmt.msi"
AUTHZ = "azure.mgmt.authorization"
APP = "azure.mgmt.appcontainers"
KV = "azure.mgmt.keyvault"
NET = "azure.mgmt.network"
DNS = "azure.mgmt.privatedns"
AKS = "azure.mgmt.containerservice"
HK = "azure.mgmt.hybridkubernetes"
KCX = "azure.mgmt.kubernetesconfiguration.extensions"
KCF = "azure.mgmt.kubernetesconfiguration.fluxconfigurations"
POL = "azure.mgmt.resource.policy"
LA = "azure.mgmt.loganalytics"

RESOURCE_TYPES = [
    # Health Data Services: the DICOM service is a real Orthanc behind the emulator.
    ResourceType("Microsoft.HealthcareApis/workspaces", HC, ("Workspace",), ("WorkspacePatchResource",),
                 create="201-async", patch="202-location"),
    ResourceType("Microsoft.HealthcareApis/workspaces/dicomservices", HC, ("DicomService",),
                 ("DicomServicePatchResource",), create="201-async", patch="202-location",
                 behaviour="dicom:DicomService"),
    # Storage: accounts are Azurite accounts; account/blob-service/container properties are stored as given.
    ResourceType("Microsoft.Storage/storageAccounts", ST, ("StorageAccountCreateParameters",),
                 ("StorageAccountUpdateParameters",), create="202-location", update="sync", patch="sync",
                 delete="sync", behaviour="storage:StorageAccount", actions=("listKeys", "regenerateKey")),
    ResourceType("Microsoft.Storage/storageAccounts/blobServices", ST, ("BlobServiceProperties",), (),
                 create="sync", delete="sync", tracked=False),
    ResourceType("Microsoft.Storage/storageAccounts/blobServices/containers", ST, ("BlobContainer",),
                 ("BlobContainer",), create="sync", delete="sync", tracked=False,
                 behaviour="storage:BlobContainer"),
    ResourceType("Microsoft.Storage/storageAccounts/managementPolicies", ST, ("ManagementPolicy",), (),
                 create="sync-200", delete="sync", tracked=False),
    ResourceType("Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies", ST,
                 ("ImmutabilityPolicy",), (), create="sync", delete="sync", tracked=False),
    # PostgreSQL flexible server: a login role and databases in the lab cluster.
    ResourceType("Microsoft.DBforPostgreSQL/flexibleServers", PG, ("Server",), ("ServerForPatch", "ServerForUpdate"),
                 create="202-async-location", patch="202-async-location", delete="202-async-location",
                 behaviour="postgres:FlexibleServer", actions=("restart", "start", "stop")),
    ResourceType("Microsoft.DBforPostgreSQL/flexibleServers/databases", PG, ("Database",), (),
                 create="202-async-location", delete="202-async-location", tracked=False,
                 behaviour="postgres:Database"),
    ResourceType("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", PG, ("FirewallRule",), (),
                 create="202-async-location", delete="202-async-location", tracked=False),
    ResourceType("Microsoft.DBforPostgreSQL/flexibleServers/configurations", PG, ("Configuration",),
                 ("ConfigurationForUpdate", "Configuration"), create="202-async-location",
                 patch="202-async-location", delete="sync", tracked=False, behaviour="postgres:Configuration"),
    ResourceType("Microsoft.DBforPostgreSQL/flexibleServers/administrators", PG, ("AdministratorMicrosoftEntraAdd",
                 "ActiveDirectoryAdministratorAdd"), (), create="202-async-location",
                 delete="202-async-location", tracked=False),
    # Identities and access.
    ResourceType("Microsoft.ManagedIdentity/userAssignedIdentities", MSI, ("Identity",), ("IdentityUpdate",),
                 create="sync", delete="sync", behaviour="identity:UserAssignedIdentity"),
    ResourceType("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", MSI,
                 ("FederatedIdentityCredential",), (), create="sync", delete="sync", tracked=False,
                 behaviour="identity:FederatedCredential"),
    ResourceType("Microsoft.Authorization/roleAssignments", AUTHZ, ("RoleAssignmentCreateParameters",), (),
                 create="sync", delete="sync", tracked=False, behaviour="authorization:RoleAssignment"),
    # Container Apps: environments are podman networks, revisions run as containers (lab/azure/container_apps).
    ResourceType("Microsoft.App/managedEnvironments", APP, ("ManagedEnvironment",), ("ManagedEnvironment",),
                 create="201-async", patch="202-location", behaviour="container_apps:ManagedEnvironment"),
    ResourceType("Microsoft.App/containerApps", APP, ("ContainerApp",), ("ContainerApp",), create="201-async",
                 patch="202-location", behaviour="container_apps:ContainerApp", actions=("listSecrets",)),
    ResourceType("Microsoft.App/containerApps/revisions", APP, tracked=False, behaviour="container_apps:Revision",
                 actions=("activate", "deactivate", "restart")),
    ResourceType("Microsoft.App/managedEnvironments/storages", APP, ("ManagedEnvironmentStorage",), (),
                 create="sync", delete="sync", tracked=False),
    # Registered now, SDK validation and data planes come with their issues.
    # Key Vault: soft delete, purge protection and global names (the data plane is not emulated yet).
    ResourceType("Microsoft.KeyVault/vaults", KV, ("VaultCreateOrUpdateParameters",), ("VaultPatchParameters",),
                 create="201-body", patch="sync", delete="sync", behaviour="keyvault:Vault", closed=True),
    ResourceType("Microsoft.KeyVault/locations/deletedVaults", tracked=False, behaviour="keyvault:DeletedVault",
                 actions=("purge",)),
    ResourceType("Microsoft.KeyVault/vaults/secrets", create="sync", delete="sync", tracked=False),
    # Network: subnets are declared inside their VNet and realized as child resources.
    ResourceType("Microsoft.Network/virtualNetworks", NET, ("VirtualNetwork",), ("TagsObject",), create="201-async",
                 delete="202-async-location", behaviour="network:VirtualNetwork", closed=True),
    ResourceType("Microsoft.Network/virtualNetworks/subnets", tracked=False),
    ResourceType("Microsoft.Network/networkSecurityGroups"),
    ResourceType("Microsoft.Network/privateEndpoints", NET, ("PrivateEndpoint",), ("PrivateEndpoint",),
                 create="201-async", delete="202-async-location", behaviour="private_link:PrivateEndpoint",
                 closed=True),
    ResourceType("Microsoft.Network/privateEndpoints/privateDnsZoneGroups", NET, ("PrivateDnsZoneGroup",), (),
                 create="201-async", delete="202-async-location", tracked=False,
                 behaviour="private_link:PrivateDnsZoneGroup", closed=True),
    ResourceType("Microsoft.Network/privateDnsZones", DNS, ("PrivateZone",), ("PrivateZone",),
                 create="202-async-location", delete="202-async-location", behaviour="private_link:PrivateDnsZone",
                 closed=True),
    ResourceType("Microsoft.Network/privateDnsZones/virtualNetworkLinks", DNS, ("VirtualNetworkLink",),
                 ("VirtualNetworkLink",), create="202-async-location", delete="202-async-location",
                 behaviour="private_link:VirtualNetworkLink", closed=True),
    # AKS: a managed cluster is backed by a lab cluster ($LAB_DIR/kube/<name>) when one runs.
    ResourceType("Microsoft.ContainerService/managedClusters", AKS, ("ManagedCluster",), ("TagsObject",),
                 create="201-async", delete="202-location", behaviour="aks:ManagedCluster", closed=True,
                 actions=("listClusterUserCredential",)),
    ResourceType("Microsoft.ContainerService/managedClusters/agentPools", tracked=False),
    # Arc: a connected cluster is backed by a lab cluster too, Connected once its agents report with the onboarding
    # key (lab/azure/behaviours/arc.py); extensions and Flux configurations are extension resources of a cluster.
    ResourceType("Microsoft.Kubernetes/connectedClusters", HK, ("ConnectedCluster",), ("ConnectedClusterPatch",),
                 create="201-async", behaviour="arc:ConnectedCluster", actions=("listClusterUserCredential",),
                 closed=True),
    ResourceType("Microsoft.KubernetesConfiguration/extensions", KCX, ("Extension",), ("PatchExtension",),
                 create="201-async", patch="202-async-location", delete="202-async-location", tracked=False,
                 behaviour="kubernetes_configuration:Extension", closed=True),
    ResourceType("Microsoft.KubernetesConfiguration/fluxConfigurations", KCF, ("FluxConfiguration",),
                 ("FluxConfigurationPatch",), create="201-async", patch="202-async-location",
                 delete="202-async-location", tracked=False, behaviour="kubernetes_configuration:FluxConfiguration",
                 closed=True),
    # Azure Policy: assignments of the built-in definitions the lab knows (lab/azure/behaviours/policy.py).
    ResourceType("Microsoft.Authorization/policyAssignments", POL, ("PolicyAssignment",), ("PolicyAssignmentUpdate",),
                 create="sync", delete="sync", tracked=False, behaviour="policy:PolicyAssignment", closed=True),
    # Log Analytics: the workspace id and shared keys a Container Apps environment sends its logs with.
    ResourceType("Microsoft.OperationalInsights/workspaces", LA, ("Workspace",), ("WorkspacePatch",),
                 create="201-body", delete="sync", behaviour="log_analytics:Workspace",
                 actions=("sharedKeys", "regenerateSharedKey")),
]

BY_KEY = {t.key: t for t in RESOURCE_TYPES}


def lookup(type_name):
    return BY_KEY.get(type_name.lower())


def namespaces():
    return sorted({t.type.split("/")[0] for t in RESOURCE_TYPES})
