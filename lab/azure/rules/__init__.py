"""What Azure refuses beyond the types the SDK models check: names, locations, SKUs, IP rules, lifecycle rules,
passwords, Key Vault URLs. One module per resource family; every check raises an ARM-shaped 400 before anything
is stored, naming the field and the rule.
"""
from lab.azure.rules import (authorization, healthcare, identity, keyvault, lifecycle, network, postgres, resources,
                             storage)

CHECKS = {
    "microsoft.healthcareapis/workspaces": (healthcare.workspace,),
    "microsoft.healthcareapis/workspaces/dicomservices": (healthcare.dicom_service,),
    "microsoft.storage/storageaccounts": (storage.account,),
    "microsoft.storage/storageaccounts/blobservices": (storage.blob_service,),
    "microsoft.storage/storageaccounts/blobservices/containers": (storage.container,),
    "microsoft.storage/storageaccounts/managementpolicies": (lifecycle.policy,),
    "microsoft.dbforpostgresql/flexibleservers": (postgres.server,),
    "microsoft.dbforpostgresql/flexibleservers/databases": (postgres.database,),
    "microsoft.dbforpostgresql/flexibleservers/firewallrules": (postgres.firewall_rule,),
    "microsoft.authorization/roleassignments": (authorization.role_assignment,),
    "microsoft.managedidentity/userassignedidentities": (identity.identity,),
    "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials": (identity.federated_credential,),
    "microsoft.keyvault/vaults": (keyvault.vault,),
    "microsoft.network/virtualnetworks": (network.virtual_network,),
    "microsoft.app/containerapps": (lambda arm_path, body: keyvault.check_urls(body, "ContainerAppSecretInvalid"),),
}


def check(resource_type, arm_path, body):
    """Refuse a PUT/PATCH body (after a PATCH: the merged body) that Azure would refuse."""
    resources.check_envelope(resource_type, body)
    for checker in CHECKS.get(resource_type.key, ()):
        checker(arm_path, body)


def check_envelope(resource_type, body):
    """ARM's own checks of the envelope (location, tags, object fields), before the provider sees the body."""
    resources.check_envelope(resource_type, body)


def check_resource_group(name, body):
    resources.check_resource_group(name, body)


def check_api_version(api_version):
    resources.check_api_version_format(api_version)


def check_resource_group_api_version(api_version):
    resources.check_resource_group_api_version(api_version)
