"""PostgreSQL flexible servers: names, SKUs, administrator login and password, firewall ranges."""
import pytest

from lab.azure.rules.postgres import password_problem

from rules_helpers import check_body

SERVER = "Microsoft.DBforPostgreSQL/flexibleServers/"


def server_body(sku=("Standard_D2ds_v5", "GeneralPurpose"), login="orthancadmin", password="It-Pg-1234-Passw0rd!"):
    return {"location": "westeurope", "sku": {"name": sku[0], "tier": sku[1]},
            "properties": {"administratorLogin": login, "administratorLoginPassword": password, "version": "16"}}


def test_a_valid_server_passes():
    assert check_body(SERVER + "pg-index-1", server_body()) is None
    assert check_body(SERVER + "pg1", server_body(sku=("Standard_B1ms", "Burstable"))) is None


@pytest.mark.parametrize("name", ["ab", "-pg", "pg-", "PG1", "pg_1", "a" * 64, "pg1\n"])
def test_bad_server_names_are_refused(name):
    status, code, message = check_body(SERVER + name, server_body())
    assert (status, code) == (400, "InvalidServerName") and repr(name) in message


@pytest.mark.parametrize("sku, words", [
    (("Standard_D3ds_v5", "GeneralPurpose"), "sku.name"), (("Standard_B1ms", "GeneralPurpose"), "sku.tier"),
    (("Standard_D2ds_v5", "Premium"), "sku.tier"), (("Basic_A0", "Burstable"), "sku.name"),
])
def test_skus_that_do_not_exist_are_refused(sku, words):
    status, code, message = check_body(SERVER + "pg1", server_body(sku=sku))
    assert code == "InvalidParameterValue" and words in message


@pytest.mark.parametrize("password, words", [
    ("Ab1!", "8 to 128"), ("A" * 64 + "b1!" * 22, "8 to 128"), ("alllowercase1", "three of"),
    ("NoDigitsOrSymbols", "three of"), ("Orthancadmin-1x", "login"), ("xxAdmin-1234!", "part of"),
])
def test_weak_passwords_are_refused(password, words):
    problem = password_problem(password, "orthanc_admin")
    assert problem and words in problem


def test_password_refusal_names_the_field_and_never_echoes_the_password():
    status, code, message = check_body(SERVER + "pg1", server_body(password="weakpassword"))
    assert (status, code) == (400, "PasswordNotComplex") and "administratorLoginPassword" in message
    assert "weakpassword" not in message


@pytest.mark.parametrize("login", ["1admin", "ad-min", "a" * 64, "admin\n"])
def test_bad_administrator_logins_are_refused(login):
    assert check_body(SERVER + "pg1", server_body(login=login))[1] == "InvalidAdministratorLogin"


def test_http_key_uri_is_refused():
    body = server_body()
    body["properties"]["dataEncryption"] = {"type": "AzureKeyVault", "primaryKeyURI": "http://kv.example/keys/k/1"}
    assert "dataEncryption.primaryKeyURI" in check_body(SERVER + "pg1", body)[2]


@pytest.mark.parametrize("name", ["orthanc", "_db", "orthanc_2024"])
def test_valid_database_names_pass(name):
    assert check_body(SERVER + "pg1/databases/" + name, {"properties": {}}) is None


@pytest.mark.parametrize("name", ["1db", "a" * 64, "db name", "db\n"])
def test_bad_database_names_are_refused(name):
    assert check_body(SERVER + "pg1/databases/" + name, {"properties": {}})[1] == "InvalidDatabaseName"


@pytest.mark.parametrize("name, start, end, words", [
    ("ok", "10.0.0.300", "10.0.0.1", "startIpAddress"), ("ok", "10.0.0.1", "::1", "endIpAddress"),
    ("ok", "10.0.0.9", "10.0.0.1", "after"), ("ok", "10.0.0.1", None, "endIpAddress"),
    ("bad name", "10.0.0.1", "10.0.0.1", "Firewall rule name"), ("a" * 129, "10.0.0.1", "10.0.0.1", "Firewall"),
])
def test_bad_firewall_rules_are_refused(name, start, end, words):
    body = {"properties": {"startIpAddress": start, "endIpAddress": end}}
    assert words in check_body(SERVER + "pg1/firewallRules/" + name, body)[2]


def test_a_valid_firewall_rule_passes():
    body = {"properties": {"startIpAddress": "127.0.0.1", "endIpAddress": "127.0.0.1"}}
    assert check_body(SERVER + "pg1/firewallRules/controller", body) is None
