"""IPv4 rules as Azure reads them: dotted quads only (no leading zeros, no IPv6), CIDR without host bits. And
virtual networks: address spaces, subnets inside them without overlaps, delegations and service endpoints."""
import ipaddress
import re

from lab.azure.rules.fields import dig, matches, refuse

_QUAD = re.compile(r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")
# RFC 1918 and the shared address space: storage IP rules accept public addresses only.
PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))


def ipv4(value):
    """An IPv4Address, or None when value is not a dotted-quad IPv4 address."""
    if not isinstance(value, str) or not _QUAD.fullmatch(value):
        return None
    return ipaddress.IPv4Address(value)


def storage_rule_problem(value):
    """Why a storage networkAcls ipRule value is refused, or None (an address or a /0-/30 public CIDR)."""
    address, slash, prefix = value.partition("/") if isinstance(value, str) else ("", "", "")
    if ipv4(address) is None:
        return "not an IPv4 address or CIDR range"
    if slash:
        if not re.fullmatch(r"[0-9]|[12][0-9]|30", prefix):
            return "the prefix must be /0 to /30 (give a single address without a prefix instead of /31 or /32)"
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            return "the range has host bits set"
    else:
        network = ipaddress.IPv4Network(address)
    if any(network.subnet_of(private) for private in PRIVATE):
        return "private address ranges are not allowed"
    return None


# Microsoft.Network/virtualNetworks ----------------------------------------------------------------------------
# Services a subnet can be delegated to, and service endpoints (the lab's subset of what Azure lists for a region).
DELEGATIONS = frozenset(s.lower() for s in (
    "Microsoft.App/environments", "Microsoft.DBforPostgreSQL/flexibleServers", "Microsoft.Web/serverFarms",
    "Microsoft.ContainerInstance/containerGroups", "Microsoft.ContainerService/managedClusters",
    "Microsoft.Sql/managedInstances", "Microsoft.DBforMySQL/flexibleServers", "Microsoft.Netapp/volumes",
    "Microsoft.Network/dnsResolvers", "Microsoft.HealthcareApis/workspaces"))
SERVICE_ENDPOINTS = frozenset(s.lower() for s in (
    "Microsoft.Storage", "Microsoft.Storage.Global", "Microsoft.KeyVault", "Microsoft.Sql", "Microsoft.AzureCosmosDB",
    "Microsoft.ServiceBus", "Microsoft.EventHub", "Microsoft.Web", "Microsoft.ContainerRegistry",
    "Microsoft.CognitiveServices", "Microsoft.AzureActiveDirectory"))
POLICIES = ("Enabled", "Disabled", "NetworkSecurityGroupEnabled", "RouteTableEnabled")
NAME = r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?"


def _cidr(value, where):
    address, slash, prefix = value.partition("/") if isinstance(value, str) else ("", "", "")
    if ipv4(address) is None or not slash or not re.fullmatch(r"[0-9]|[12][0-9]|3[0-2]", prefix):
        refuse("InvalidAddressPrefixFormat", f"Address prefix {value!r} of {where} does not have a valid format.")
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        refuse("NetcfgInvalidIPAddressPrefix", f"IP address prefix {value} of {where} is invalid: the address has "
               "host bits set (use the network address of the range).")
    return None


def virtual_network(arm_path, body):
    name = arm_path.names[0]
    if not matches(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?", name):
        refuse("InvalidResourceName", f"Resource name {name!r} is invalid. The name can be up to 64 characters long; "
               "it must begin with a word character and end with a word character or '_'.")
    prefixes = dig(body, "properties", "addressSpace", "addressPrefixes")
    if not prefixes:
        refuse("InvalidRequestFormat", "Cannot parse the request: properties.addressSpace.addressPrefixes needs at "
               "least one address range.")
    spaces = [_cidr(p, f"virtual network {name}") for p in prefixes]
    seen = {}
    for subnet in dig(body, "properties", "subnets") or []:
        sub_name = subnet.get("name") if isinstance(subnet, dict) else None
        if not matches(NAME, sub_name):
            refuse("InvalidResourceName", f"Subnet name {sub_name!r} is invalid: 1-80 word characters, '.' or '-', "
                   "ending with a word character.")
        if sub_name.lower() in seen:
            refuse("DuplicateResourceName", f"Virtual network {name} has two subnets named {sub_name}.")
        _subnet(name, sub_name, subnet.get("properties") or {}, spaces, seen)


def _subnet(vnet, name, props, spaces, seen):
    where = f"subnet {name}"
    value = props.get("addressPrefix")
    if value is None:
        refuse("InvalidRequestFormat", f"Cannot parse the request: {where} has no addressPrefix.")
    network = _cidr(value, where)
    if network.prefixlen > 29:
        refuse("NetcfgInvalidSubnet", f"Subnet '{name}' is not valid in virtual network '{vnet}': {value} is smaller "
               "than /29, the smallest subnet Azure allows.")
    if not any(network.subnet_of(space) for space in spaces):
        refuse("NetcfgSubnetRangeOutsideVnet", f"Subnet '{name}' is not valid because its IP address range is "
               f"outside the IP address range of virtual network '{vnet}'.")
    for other, other_network in seen.items():
        if network.overlaps(other_network):
            refuse("NetcfgSubnetRangesOverlap", f"Subnet '{name}' is not valid in virtual network '{vnet}': its "
                   f"range {value} overlaps subnet '{other}' ({other_network}).")
    seen[name.lower()] = network
    for delegation in props.get("delegations") or []:
        service = (delegation.get("properties") or {}).get("serviceName") if isinstance(delegation, dict) else None
        if not isinstance(service, str) or service.lower() not in DELEGATIONS:
            refuse("InvalidServiceNameOnDelegation", f"Subnet {name} has an invalid delegation service name "
                   f"{service!r}.")
    for endpoint in props.get("serviceEndpoints") or []:
        service = endpoint.get("service") if isinstance(endpoint, dict) else None
        if not isinstance(service, str) or service.lower() not in SERVICE_ENDPOINTS:
            refuse("InvalidServiceEndpoint", f"Subnet {name}: {service!r} is not a service endpoint Azure offers.")
    policy = props.get("privateEndpointNetworkPolicies")
    if policy is not None and policy not in POLICIES:
        refuse("InvalidRequestFormat", f"Subnet {name}: privateEndpointNetworkPolicies {policy!r} is not one of "
               f"{', '.join(POLICIES)}.")
