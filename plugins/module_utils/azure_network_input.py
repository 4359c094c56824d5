# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address plans checked before any call: CIDR ranges, subnets inside the address space, no overlaps.

Azure refuses each of these too, but only after the VNet PUT has been sent; here the task fails naming the
subnet and the range, in check mode as well.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

# Azure reserves 5 addresses per subnet: /29 is the smallest it accepts.
SMALLEST_SUBNET_PREFIX = 29


def parse_range(value):
    """(network, None) for an IPv4 CIDR without host bits, else (None, why)."""
    try:
        network = ipaddress.ip_network(u'%s' % value, strict=True)
    except ValueError as exc:
        return None, str(exc)
    if network.version != 4 or '/' not in value:
        return None, 'use an IPv4 range in CIDR notation such as 10.20.0.0/16'
    return network, None


def address_plan_problem(address_prefixes, subnets):
    """None, or (option, problem, fix) for the first thing Azure would refuse in this address plan."""
    spaces = []
    for value in address_prefixes or []:
        network, why = parse_range(value)
        if network is None:
            return 'address_prefixes', '%r is not a valid range (%s)' % (value, why), \
                'Give ranges such as 10.20.0.0/16 (no host bits set)'
        spaces.append(network)
    seen = {}
    for subnet in subnets or []:
        name, value = subnet['name'], subnet['address_prefix']
        option = 'subnets[%s].address_prefix' % name
        if name in seen:
            return 'subnets', 'the subnet name %r is used twice' % name, 'Give each subnet its own name'
        network, why = parse_range(value)
        if network is None:
            return option, '%r is not a valid range (%s)' % (value, why), 'Give a range such as 10.20.1.0/24'
        if network.prefixlen > SMALLEST_SUBNET_PREFIX:
            return option, '%s is smaller than /%d, the smallest subnet Azure allows' % (
                value, SMALLEST_SUBNET_PREFIX), 'Use a /%d or larger range' % SMALLEST_SUBNET_PREFIX
        if spaces and not any(network.subnet_of(space) for space in spaces):
            return option, '%s lies outside the address space %s' % (
                value, ', '.join(str(s) for s in spaces)), 'Choose a range inside address_prefixes'
        for other, other_network in seen.items():
            if network.overlaps(other_network):
                return option, '%s overlaps subnet %r (%s)' % (value, other, other_network), \
                    'Subnets of one network must not overlap'
        seen[name] = network
    return None
