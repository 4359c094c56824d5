"""How the lab tells private-endpoint callers from the public: the caller's network, its environment's VNet, and
a private endpoint in that VNet to the service (or the DICOM service's workspace)."""
import types

import pytest

from lab.azure.container_apps import private_access
from lab.azure.web import HttpError

from conftest import ENV, RG, VNET, VNET_ENV

VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/kv"
WORKSPACE = f"{RG}/providers/Microsoft.HealthcareApis/workspaces/hds"
DICOM = f"{WORKSPACE}/dicomservices/pacs"


def Req(address):  # noqa: N802 - stands for a request
    return types.SimpleNamespace(client_address=address)


@pytest.fixture
def closed(ctx):
    endpoint = f"{RG}/providers/Microsoft.Network/privateEndpoints/pe"
    ctx.store.put_resource(endpoint, {"private": {}, "body": {
        "id": endpoint, "type": "Microsoft.Network/privateEndpoints", "properties": {
            "subnet": {"id": f"{VNET}/subnets/big"}, "privateLinkServiceConnections": [
                {"name": "c", "properties": {"privateLinkServiceId": WORKSPACE, "groupIds": ["healthcareworkspace"]}},
                {"name": "v", "properties": {"privateLinkServiceId": VAULT, "groupIds": ["vault"]}}]}}})
    private_access.register_network("10.89.200.0/24", VNET_ENV)
    private_access.register_network("10.89.201.0/24", ENV)
    yield ctx
    for env in (VNET_ENV, ENV):
        private_access.forget_network(env)


@pytest.mark.parametrize("address,allowed", [
    ("10.89.200.7", True),     # an environment whose VNet holds the private endpoint
    ("10.89.201.7", False),    # an environment without a VNet
    ("127.0.0.1", False),      # the public internet
    (None, False),
])
def test_only_callers_behind_the_private_endpoint_reach_a_closed_service(closed, address, allowed):
    for body, targets, refusal in (({"properties": {"publicNetworkAccess": "Disabled"}}, [VAULT],
                                    private_access.key_vault_refusal()),
                                   ({"properties": {"publicNetworkAccess": "Disabled"}}, [DICOM, WORKSPACE],
                                    private_access.dicom_refusal())):
        if allowed:
            private_access.require(closed, Req(address), body, targets, refusal)
        else:
            with pytest.raises(HttpError) as caught:
                private_access.require(closed, Req(address), body, targets, refusal)
            assert caught.value.status == 403
    # Public access on: everyone.
    private_access.require(closed, Req("127.0.0.1"), {"properties": {}}, [VAULT], private_access.key_vault_refusal())


def test_an_endpoint_to_another_service_does_not_open_this_one(closed):
    other = f"{RG}/providers/Microsoft.KeyVault/vaults/other"
    assert not private_access.through_private_endpoint(closed, "10.89.200.7", [other])
    assert private_access.through_private_endpoint(closed, "10.89.200.7", [VAULT])


@pytest.mark.parametrize("rules,client,expected", [
    ([], "127.0.0.1", True),
    ([{"name": "lab", "ipAddressRange": "127.0.0.0/8", "action": "Allow"}], "127.0.0.1", True),
    ([{"name": "site", "ipAddressRange": "203.0.113.0/24", "action": "Allow"}], "127.0.0.1", False),
    ([{"name": "lab", "ipAddressRange": "127.0.0.1", "action": "Deny"}], "127.0.0.1", False),
    ([{"name": "site", "ipAddressRange": "203.0.113.0/24", "action": "Deny"}], "127.0.0.1", True),
])
def test_ingress_ip_restrictions(rules, client, expected):
    from lab.azure.container_apps.ingress import allowed
    assert allowed(rules, client) is expected


def test_a_replica_reaches_the_identity_endpoint_at_azures_loopback_address(closed, monkeypatch):
    """Azure gives replicas IDENTITY_ENDPOINT=http://localhost:42356/msi/token (loopback: clients such as the plugin
    refuse plain http elsewhere); the lab sends that port on to the gateway, where the endpoint listens."""
    from lab.azure.container_apps import identity
    closed.facts = {"ports": {"emulator": 44321}}
    calls = []
    monkeypatch.setattr(private_access, "_listen", lambda *args: None)
    monkeypatch.setattr(private_access, "podman", lambda *args: types.SimpleNamespace(stdout=b"4242\n"))
    monkeypatch.setattr(private_access.subprocess, "run",
                        lambda argv, **_: calls.append(argv) or types.SimpleNamespace(returncode=0, stderr=b""))
    private_access.connect(closed, "replica-0", "10.89.200.1")
    dnat = [argv for argv in calls if "DNAT" in argv][0]
    assert dnat[dnat.index("--dports") + 1].split(",") == ["42356", "44321"]
    assert dnat[-1] == "10.89.200.1"
    monkeypatch.setattr(identity, "_Server", lambda *args: types.SimpleNamespace(serve_forever=lambda: None))
    assert identity.ensure(closed, "10.89.200.1") == "http://localhost:42356/msi/token"
    identity._SERVERS.pop("10.89.200.1", None)
