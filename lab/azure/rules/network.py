"""IPv4 rules as Azure reads them: dotted quads only (no leading zeros, no IPv6), CIDR without host bits."""
import ipaddress
import re

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
