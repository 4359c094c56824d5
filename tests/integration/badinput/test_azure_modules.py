"""Bad input to the Azure modules, against the lab's ARM emulator (issue 11, parts 2 and 3).

Every case asserts: the module fails; nothing was written (no PUT/PATCH/DELETE/POST by our principal in the
emulator's request log); the message names the input; no traceback; neither the canary client secret nor the
canary database password appears anywhere in the result. Cases run as written and in check mode.
"""
import json
import uuid

import pytest

from azure_badinput_lab import (  # noqa: F401  (pytest fixtures, used by name)
    azure_lab, canary, existing_group, lab_auth, principal_log)
from lab_runner import run

TAG = uuid.uuid4().hex[:6]
MISSING_GROUP = "rg-badinput-missing-" + TAG
PG_PASSWORD = "Canary-Pg-%s-Passw0rd!" % TAG  # a second canary: a module secret other than the client secret
GUID = "6f1c2b9e-3a47-4d2e-9c61-0b8f5e4a7d21"


def sub(ctx):
    return "/subscriptions/" + ctx["subscription_id"]


def rg(ctx, group=None):
    return "%s/resourceGroups/%s" % (sub(ctx), group or ctx["group"])


# ---------------------------------------------------------------- base arguments of each module


def base(module, ctx, group=None):
    group = group or ctx["group"]
    return {
        "azure_resource_group": dict(name="rg-badinput-new-" + TAG, location=ctx["location"]),
        "azure_healthcare_workspace": dict(resource_group=group, name="wsbad" + TAG, location=ctx["location"]),
        "azure_dicom_service": dict(resource_group=group, workspace="wsbad" + TAG, name="pacs",
                                    location=ctx["location"]),
        "azure_storage_account": dict(resource_group=group, name="stbad" + TAG, location=ctx["location"],
                                      sku="Standard_LRS"),
        "azure_blob_container": dict(resource_group=group, account="stbad" + TAG, name="studies"),
        "azure_storage_blob_service_properties": dict(resource_group=group, account="stbad" + TAG,
                                                      blob_soft_delete_days=7),
        "azure_storage_management_policy": dict(resource_group=group, account="stbad" + TAG,
                                                rules=[dict(name="studies", cool_after_days=30)]),
        "azure_postgresql_flexible_server": dict(
            resource_group=group, name="pgbad-" + TAG, location=ctx["location"], version="16",
            sku=dict(name="Standard_B1ms", tier="Burstable"), storage_size_gb=32,
            administrator_login="orthancadmin", administrator_login_password=PG_PASSWORD),
        "azure_postgresql_flexible_database": dict(resource_group=group, server="pgbad-" + TAG, name="orthanc"),
        "azure_postgresql_flexible_firewall_rule": dict(resource_group=group, server="pgbad-" + TAG, name="hospital",
                                                        start_ip_address="203.0.113.0",
                                                        end_ip_address="203.0.113.31"),
        "azure_postgresql_flexible_configuration": dict(resource_group=group, server="pgbad-" + TAG,
                                                        name="work_mem", value="4096"),
        "azure_role_assignment": dict(scope=rg(ctx, group), principal_id=ctx["principal_id"], role="Reader"),
    }[module]


def case(module, change, needle, **marks):
    """(module, function ctx -> args, function ctx -> text the message must hold)."""
    def args(ctx):
        values = base(module, ctx)
        values.update(change(ctx) if callable(change) else change)
        return values
    return pytest.param(module, args, needle if callable(needle) else (lambda ctx: needle), **marks)


NL = "\n"
REFUSED_BEFORE_ANY_CALL = [
    # names with a trailing newline: `$` let them through, and the lab could then not delete what they made
    case("azure_resource_group", dict(name="rg-badinput" + NL), repr("rg-badinput" + NL), id="group-name-newline"),
    case("azure_resource_group", dict(name="rg-badinput."), "'rg-badinput.'", id="group-name-ends-with-period"),
    case("azure_resource_group", dict(name="rg/../x"), "'rg/../x'", id="group-name-slash"),
    case("azure_resource_group", dict(name="r" * 91), "'" + "r" * 91 + "'", id="group-name-too-long"),
    case("azure_resource_group", dict(location="westeurope" + NL), repr("westeurope" + NL), id="location-newline"),
    case("azure_resource_group", dict(location="west/europe"), "'west/europe'", id="location-slash"),
    case("azure_healthcare_workspace", dict(name="wsbad" + NL), repr("wsbad" + NL), id="workspace-name-newline"),
    case("azure_healthcare_workspace", lambda ctx: dict(resource_group=ctx["group"] + NL),
         lambda ctx: repr(ctx["group"] + NL), id="workspace-group-newline"),
    case("azure_healthcare_workspace", dict(location=""), "Invalid location", id="workspace-location-empty"),
    case("azure_dicom_service", dict(name="pacs" + NL), repr("pacs" + NL), id="dicom-name-newline"),
    case("azure_dicom_service", dict(workspace="ws" + NL), repr("ws" + NL), id="dicom-workspace-newline"),
    case("azure_dicom_service", dict(resource_group="rg/../.."), "'rg/../..'", id="dicom-group-dotdot"),
    case("azure_storage_account", dict(name="stbad" + NL), repr("stbad" + NL), id="account-name-newline"),
    case("azure_storage_account", dict(name="St-Bad"), "'St-Bad'", id="account-name-case"),
    case("azure_storage_account", dict(location="west europe" + NL), repr("west europe" + NL),
         id="account-location-newline"),
    case("azure_blob_container", dict(name="studies" + NL), repr("studies" + NL), id="container-name-newline"),
    case("azure_blob_container", dict(account="stbad" + NL), repr("stbad" + NL), id="container-account-newline"),
    case("azure_storage_blob_service_properties", dict(account="st" + NL), repr("st" + NL),
         id="blob-service-account-newline"),
    case("azure_storage_management_policy", dict(rules=[dict(name="studies" + NL, cool_after_days=30)]),
         repr("studies" + NL), id="lifecycle-rule-name-newline"),
    case("azure_postgresql_flexible_server", dict(name="pgbad" + NL), repr("pgbad" + NL), id="pg-name-newline"),
    case("azure_postgresql_flexible_server", dict(resource_group="rg" + NL), repr("rg" + NL),
         id="pg-group-newline"),
    case("azure_postgresql_flexible_database", dict(name="orthanc" + NL), repr("orthanc" + NL),
         id="pg-database-newline"),
    case("azure_postgresql_flexible_database", dict(server="pgbad" + NL), repr("pgbad" + NL),
         id="pg-database-server-newline"),
    case("azure_postgresql_flexible_firewall_rule", dict(name="hospital" + NL), repr("hospital" + NL),
         id="pg-firewall-name-newline"),
    case("azure_postgresql_flexible_configuration", dict(name="work_mem" + NL), repr("work_mem" + NL),
         id="pg-parameter-newline"),
    # role assignment scopes: `..` is normalised away by the HTTP stack and widened a grant to the subscription
    case("azure_role_assignment", lambda ctx: dict(scope=rg(ctx) + "/../.."), lambda ctx: repr(rg(ctx) + "/../.."),
         id="scope-dotdot-to-subscription"),
    case("azure_role_assignment", lambda ctx: dict(scope=rg(ctx) + "/.."), lambda ctx: repr(rg(ctx) + "/.."),
         id="scope-dotdot"),
    case("azure_role_assignment", lambda ctx: dict(scope=sub(ctx) + "/resourceGroups/./" + ctx["group"]),
         lambda ctx: repr(sub(ctx) + "/resourceGroups/./" + ctx["group"]), id="scope-dot"),
    case("azure_role_assignment", lambda ctx: dict(scope=rg(ctx) + "/"), lambda ctx: repr(rg(ctx) + "/"),
         id="scope-trailing-slash"),
    case("azure_role_assignment", lambda ctx: dict(scope=sub(ctx) + "//resourceGroups/" + ctx["group"]),
         "empty", id="scope-empty-segment"),
    case("azure_role_assignment", lambda ctx: dict(scope=rg(ctx) + NL), lambda ctx: repr(rg(ctx) + NL),
         id="scope-newline"),
    case("azure_role_assignment", dict(scope="/"), "'/'", id="scope-root"),
    case("azure_role_assignment", dict(scope=""), "''", id="scope-empty"),
    case("azure_role_assignment", dict(scope="/providers/Microsoft.Management/managementGroups/root"),
         "managementGroups", id="scope-management-group"),
    case("azure_role_assignment", lambda ctx: dict(
        scope=rg(ctx) + "/providers/Microsoft.Storage/storageAccounts/st/../../../.."), "'..'",
        id="scope-resource-dotdot"),
    case("azure_role_assignment", lambda ctx: dict(scope=rg(ctx) + "/providers/Microsoft.Storage/storageAccounts"),
         "providers/", id="scope-type-without-name"),
    case("azure_role_assignment", dict(scope="/subscriptions/not-a-guid"), "'not-a-guid'", id="scope-bad-subscription"),
    # roles: "" resolved to Owner (the lab's list ignored an empty filter and the module took the first)
    case("azure_role_assignment", dict(role=""), "Invalid role: it is empty", id="role-empty"),
    case("azure_role_assignment", dict(role="   "), "Invalid role: it is empty", id="role-blank"),
    case("azure_role_assignment", dict(role="Reader" + NL), repr("Reader" + NL), id="role-newline"),
    case("azure_role_assignment", lambda ctx: dict(
        role=sub(ctx) + "/resourceGroups/x/../../providers/Microsoft.Authorization/roleDefinitions/" + GUID),
        "is not a role definition id", id="role-id-dotdot"),
    case("azure_role_assignment", dict(principal_id="orthanc"), "'orthanc'", id="principal-not-guid"),
    case("azure_role_assignment", dict(principal_id=GUID + NL), repr(GUID + NL), id="principal-newline"),
    case("azure_storage_account", lambda ctx: dict(subscription_id=ctx["subscription_id"] + NL),
         lambda ctx: repr(ctx["subscription_id"] + NL), id="subscription-newline"),
    case("azure_resource_group", dict(subscription_id="../providers"), "'../providers'", id="subscription-path"),
]

NEEDS_A_READ = [
    # an unknown role name: one lookup, then the list of known names (never the first role the service returns)
    case("azure_role_assignment", dict(role="Imaging Uploader"), "'Imaging Uploader'", id="role-unknown"),
    # a parent that does not exist: fail before any write, in check mode too, naming it
    case("azure_healthcare_workspace", dict(resource_group=MISSING_GROUP), MISSING_GROUP, id="missing-group-workspace"),
    case("azure_dicom_service", dict(resource_group=MISSING_GROUP), MISSING_GROUP, id="missing-group-dicom"),
    case("azure_storage_account", dict(resource_group=MISSING_GROUP), MISSING_GROUP, id="missing-group-account"),
    case("azure_postgresql_flexible_server", dict(resource_group=MISSING_GROUP), MISSING_GROUP,
         id="missing-group-pg-server"),
    case("azure_postgresql_flexible_database", dict(resource_group=MISSING_GROUP), MISSING_GROUP,
         id="missing-group-pg-database"),
    case("azure_blob_container", dict(resource_group=MISSING_GROUP), MISSING_GROUP, id="missing-group-container"),
    case("azure_role_assignment", lambda ctx: dict(scope=rg(ctx, MISSING_GROUP)), MISSING_GROUP,
         id="missing-group-role-scope"),
    case("azure_dicom_service", {}, lambda ctx: "wsbad" + TAG, id="missing-workspace"),
    case("azure_postgresql_flexible_database", {}, lambda ctx: "pgbad-" + TAG, id="missing-pg-server-database"),
    case("azure_postgresql_flexible_firewall_rule", {}, lambda ctx: "pgbad-" + TAG, id="missing-pg-server-firewall"),
    case("azure_postgresql_flexible_configuration", {}, lambda ctx: "pgbad-" + TAG, id="missing-pg-server-parameter"),
    case("azure_blob_container", {}, lambda ctx: "stbad" + TAG, id="missing-account-container"),
    case("azure_storage_blob_service_properties", {}, lambda ctx: "stbad" + TAG, id="missing-account-blob-service"),
    case("azure_storage_management_policy", {}, lambda ctx: "stbad" + TAG, id="missing-account-lifecycle"),
    case("azure_role_assignment", lambda ctx: dict(scope=rg(ctx) + "/providers/Microsoft.Storage/storageAccounts/"
                                                   "stbad" + TAG), lambda ctx: "stbad" + TAG,
         id="missing-resource-role-scope"),
    case("azure_resource_group", lambda ctx: dict(subscription_id=GUID), GUID, id="missing-subscription-group"),
    case("azure_storage_account", lambda ctx: dict(subscription_id=GUID), GUID, id="missing-subscription-account"),
]


@pytest.fixture
def ctx(azure_lab, canary, existing_group):
    return {"subscription_id": azure_lab["subscription_id"], "location": azure_lab["location"],
            "group": existing_group, "principal_id": canary["principal_id"]}


def assert_refused(result, needle, canary, principal_log):
    text = json.dumps(result)
    assert result.get("failed") is True, result
    assert needle in result["msg"], "the message does not name the input %r: %s" % (needle, result["msg"])
    assert "exception" not in result and "Traceback" not in text, result
    assert canary["secret"] not in text and PG_PASSWORD not in text, "a secret is in the result"
    assert principal_log.writes() == [], "written before refusing: %s" % principal_log.writes()


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("module,args,needle,reads", [
    pytest.param(*p.values, False, id=p.id) for p in REFUSED_BEFORE_ANY_CALL] + [
    pytest.param(*p.values, True, id=p.id) for p in NEEDS_A_READ])
def test_refused_before_any_write(module, args, needle, reads, check_mode, ctx, canary, principal_log):
    result = run(module, args(ctx), canary["auth"], check_mode=check_mode)
    assert_refused(result, needle(ctx), canary, principal_log)
    if not reads:
        assert principal_log.calls() == [], "the input is checked before any call: %s" % principal_log.calls()


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_dotdot_scope_never_touches_a_wider_grant(state, ctx, canary, principal_log, azure_lab):
    """The reported escalation end to end: a Reader grant the subscription really holds survives both states."""
    grant = dict(base("azure_role_assignment", ctx), scope=sub(ctx))
    assert not run("azure_role_assignment", grant, canary["auth"]).get("failed")
    try:
        principal_log.mark()
        result = run("azure_role_assignment", dict(grant, scope=rg(ctx) + "/../..", state=state), canary["auth"])
        assert_refused(result, repr(rg(ctx) + "/../.."), canary, principal_log)
        still = run("azure_role_assignment", grant, canary["auth"], check_mode=True)
        assert still["changed"] is False, "the subscription-wide grant is gone or was never made"
    finally:
        run("azure_role_assignment", dict(grant, state="absent"), canary["auth"])


def test_absent_with_a_lax_filter_spares_other_principals(ctx, canary, principal_log, azure_lab):
    """A Reader grant of another principal on the group stays when ours is asked absent."""
    other = dict(base("azure_role_assignment", ctx), principal_id=azure_lab["principal_id"])
    assert not run("azure_role_assignment", other, canary["auth"]).get("failed")
    try:
        principal_log.mark()
        result = run("azure_role_assignment", dict(other, principal_id=ctx["principal_id"], state="absent"),
                     canary["auth"])
        assert result["changed"] is False and principal_log.writes() == [], result
        assert run("azure_role_assignment", other, canary["auth"], check_mode=True)["changed"] is False
    finally:
        run("azure_role_assignment", dict(other, state="absent"), canary["auth"])


def test_playbook_output_holds_no_secret_and_no_traceback(ctx, canary, principal_log, tmp_path):
    """A few of the cases through ansible-playbook -vvv (a real process): every task fails, nothing is written,
    and neither canary appears in stdout or stderr (module invocation lines included)."""
    from playbook_runner import run_local_playbook
    cases = [("azure_role_assignment", dict(base("azure_role_assignment", ctx), scope=rg(ctx) + "/../..")),
             ("azure_role_assignment", dict(base("azure_role_assignment", ctx), role="")),
             ("azure_resource_group", dict(base("azure_resource_group", ctx), name="rg-x" + NL)),
             ("azure_postgresql_flexible_server", base("azure_postgresql_flexible_server", ctx, MISSING_GROUP)),
             ("azure_dicom_service", base("azure_dicom_service", ctx))]
    tasks = [{"name": "bad input %d" % index, "medimaging.orthanc." + module: args, "ignore_errors": True,
              "register": "outcome%d" % index} for index, (module, args) in enumerate(cases)]
    auth = dict(canary["auth"])
    play = [{"name": "Bad input", "hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/medimaging.orthanc.azure": auth}, "tasks": tasks}]
    playbook = tmp_path / "bad_input.yml"
    playbook.write_text(json.dumps(play))  # JSON is YAML; no templating in the values
    done = run_local_playbook(str(playbook), {}, str(tmp_path), "bad_input", timeout=300, args=("-vvv",))
    output = done.stdout + done.stderr
    assert "failed=0" in done.stdout and "ignored=%d" % len(cases) in done.stdout, done.stdout[-3000:]
    assert canary["secret"] not in output and PG_PASSWORD not in output, "a secret reached the output"
    assert "Traceback" not in output, output[-3000:]
    assert principal_log.writes() == [], principal_log.writes()
