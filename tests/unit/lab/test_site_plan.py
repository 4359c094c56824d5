"""lab.site: a site's addresses come from its subnet; cuts are refused in a mode that does not exist."""
import pytest

from lab.containers.runtime import ContainerError
from lab.site import cut
from lab.site.plan import HYBRID_LAB, SitePlan


def test_addresses_come_from_the_subnet():
    plan = SitePlan(owner="t", network="t", subnet="10.89.99.0/24")
    assert (plan.gateway, plan.pacs_address, plan.pacs_container) == ("10.89.99.1", "10.89.99.10", "t-pacs")


def test_the_hybrid_lab_site_is_labelled_hybrid_lab():
    assert HYBRID_LAB.owner == "hybrid-lab" and HYBRID_LAB.gateway == "10.89.70.1"


def test_an_unknown_cut_mode_is_refused_before_touching_anything(monkeypatch):
    monkeypatch.setattr(cut, "_iptables", lambda *a: pytest.fail("no iptables call for a bad mode"))
    with pytest.raises(ContainerError, match="drop or reject"):
        cut.cut("any", "10.89.99.1", [1], "freeze")
