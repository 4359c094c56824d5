"""Azure's regions (the names ARM accepts as `location`, spaces removed, lower case): public, sovereign and the
EUAP canaries. A location not on this list is refused as ARM refuses it."""
from lab.azure.rules.fields import refuse

REGIONS = frozenset("""
eastus eastus2 southcentralus westus westus2 westus3 centralus northcentralus westcentralus
canadacentral canadaeast brazilsouth brazilsoutheast mexicocentral chilecentral
northeurope westeurope uksouth ukwest francecentral francesouth germanywestcentral germanynorth
switzerlandnorth switzerlandwest norwayeast norwaywest swedencentral swedensouth polandcentral italynorth
spaincentral austriaeast belgiumcentral denmarkeast
uaenorth uaecentral qatarcentral israelcentral southafricanorth southafricawest
eastasia southeastasia japaneast japanwest koreacentral koreasouth centralindia southindia westindia
jioindiawest jioindiacentral australiaeast australiasoutheast australiacentral australiacentral2
newzealandnorth indonesiacentral malaysiawest taiwannorth taiwannorthwest
centraluseuap eastus2euap
chinaeast chinaeast2 chinaeast3 chinanorth chinanorth2 chinanorth3
usgovvirginia usgovarizona usgovtexas usdodeast usdodcentral
""".split())
# Types whose resources live in no region.
GLOBAL_TYPES = frozenset({"microsoft.network/privatednszones", "microsoft.network/privatednszones/virtualnetworklinks"})


def normalize(location):
    return location.replace(" ", "").lower() if isinstance(location, str) else location


def _listed():
    return ",".join(sorted(REGIONS))


def check_resource_group(location):
    if not isinstance(location, str) or normalize(location) not in REGIONS:
        refuse("LocationNotAvailableForResourceGroup", f"The provided location '{location}' is not available for "
               f"resource group. List of available regions is '{_listed()}'.")


def check_resource(type_name, location):
    wanted = normalize(location)
    if type_name.lower() in GLOBAL_TYPES and wanted == "global":
        return
    if not isinstance(wanted, str) or wanted not in REGIONS:
        refuse("LocationNotAvailableForResourceType", f"The provided location '{location}' is not available for "
               f"resource type '{type_name}'. List of available regions for the resource type is '{_listed()}'.")
