"""The EgressFirewall -> iptables translation (lab/kube/flavours/egress_firewall.py): order kept (first match wins),
ports, dnsName through the resolver, nodeSelector to the node's address, IPv6 and unresolved names match nothing,
and OVN's refusals."""
from lab.kube.flavours.egress_firewall import RULES, filter_table, problems

SUBNET, GATEWAY = "10.210.3.0/24", "10.210.3.1"


def rule_lines(rules, resolve=lambda name: [], nodes=()):
    table = filter_table(rules, SUBNET, GATEWAY, resolve, nodes)
    return [line for line in table.splitlines() if line.startswith(f"-A {RULES} ")]


def test_rules_keep_their_order_with_ports_names_and_nodes():
    lines = rule_lines([
        {"type": "Allow", "to": {"cidrSelector": "20.38.0.0/16"}, "ports": [{"protocol": "TCP", "port": 443}]},
        {"type": "Allow", "to": {"dnsName": "login.microsoftonline.com"}},
        {"type": "Allow", "to": {"nodeSelector": {"matchLabels": {"kubernetes.io/hostname": "lab-node"}}}},
        {"type": "Allow", "to": {"nodeSelector": {"matchLabels": {"kubernetes.io/hostname": "elsewhere"}}}},
        {"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}],
        resolve=lambda name: {"login.microsoftonline.com": ["40.126.1.1", "40.126.1.2"]}[name],
        nodes=[({"kubernetes.io/hostname": "lab-node"}, GATEWAY)])
    assert lines == [f"-A {RULES} -d 20.38.0.0/16 -p tcp -m tcp --dport 443 -j ACCEPT",
                     f"-A {RULES} -d 40.126.1.1/32 -j ACCEPT", f"-A {RULES} -d 40.126.1.2/32 -j ACCEPT",
                     f"-A {RULES} -d {GATEWAY}/32 -j ACCEPT",
                     f"-A {RULES} -d 0.0.0.0/0 -j DROP"]


def test_inside_the_cluster_is_not_subject_but_the_node_is():
    table = filter_table([{"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}], SUBNET, GATEWAY, lambda n: [])
    chain = [line for line in table.splitlines() if line.startswith("-A OVN-EGRESS-FIREWALL")]
    assert chain.index(f"-A OVN-EGRESS-FIREWALL -d {GATEWAY}/32 -g {RULES}") < \
        chain.index(f"-A OVN-EGRESS-FIREWALL -d {SUBNET} -j RETURN")
    assert "-A OVN-EGRESS-FIREWALL -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN" in chain
    assert table.startswith("*filter\n") and table.endswith("COMMIT\n")


def test_unresolved_names_and_ipv6_match_nothing_and_no_firewall_is_open():
    assert rule_lines([{"type": "Allow", "to": {"dnsName": "nowhere.invalid"}},
                       {"type": "Deny", "to": {"cidrSelector": "::/0"}}]) == []
    assert rule_lines([]) == []


def test_ovn_refusals():
    def firewall(rules, name="default"):
        return {"metadata": {"name": name}, "spec": {"egress": rules}}
    assert problems(firewall([{"type": "Allow", "to": {"cidrSelector": "10.0.0.0/8"},
                               "ports": [{"protocol": "TCP", "port": 5432}]}])) == []
    assert 'named "default"' in problems(firewall([{"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}], "x"))[0]
    assert problems(firewall([])) == ["spec.egress: Required value"]
    found = problems(firewall([{"type": "Reject", "to": {}}, {"type": "Deny", "to": {"cidrSelector": "10.1/99"}},
                               {"type": "Allow", "to": {"dnsName": "a.example"},
                                "ports": [{"protocol": "ICMP", "port": 70000}]}]))
    assert [p.split(":")[0] for p in found] == ["spec.egress[0].type", "spec.egress[0].to",
                                                "spec.egress[1].to.cidrSelector", "spec.egress[2].ports[0].protocol",
                                                "spec.egress[2].ports[0].port"]
