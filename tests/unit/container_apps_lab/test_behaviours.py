"""What the lab's Container Apps and Log Analytics behaviours set and keep (no server, no container): write-only
secrets and shared keys, revision names on template changes, workspace SKUs and retention."""
import copy

import pytest

from lab.azure.behaviours.container_apps import ContainerApp, ManagedEnvironment
from lab.azure.behaviours.log_analytics import Workspace
from lab.azure.web import HttpError

from conftest import ENV, RG, SHARED_KEY, WORKSPACE_ID

APP = f"{RG}/providers/Microsoft.App/containerApps/orthanc"
SYSTEM_DATA = {"createdAt": "2026-12-03T00:00:00Z", "lastModifiedAt": "2026-12-03T00:00:00Z"}


def app_record(secrets, image="orthanc", private=None):
    return {"private": copy.deepcopy(private or {}), "body": {
        "id": APP, "name": "orthanc", "location": "westeurope", "identity": {"type": "None"}, "properties": {
            "managedEnvironmentId": ENV,
            "configuration": {"secrets": secrets, "ingress": {"external": True, "targetPort": 8042}},
            "template": {"containers": [{"name": "orthanc", "image": image,
                                         "resources": {"cpu": 0.5, "memory": "1Gi"}}]}}}}


def test_secret_values_leave_the_body_and_survive_an_update_that_sends_them_back_as_get_shows_them(ctx):
    behaviour = ContainerApp()
    first = app_record([{"name": "pg", "value": "s3cret"}])
    behaviour.prepare(ctx, first, None)
    assert first["body"]["properties"]["configuration"]["secrets"] == [{"name": "pg"}]
    assert first["private"]["secrets"] == {"pg": "s3cret"}
    revision = first["body"]["properties"]["latestRevisionName"]
    assert revision.startswith("orthanc--") and first["private"]["pendingRevision"] == revision
    assert first["body"]["properties"]["configuration"]["ingress"]["fqdn"].startswith("127.0.0.1:")
    # A PATCH that leaves the secrets alone: the merged body holds them as GET returns them, without values.
    again = copy.deepcopy(first)
    again["private"].pop("pendingRevision")
    behaviour.prepare(ctx, again, first)
    assert again["private"]["secrets"] == {"pg": "s3cret"}
    assert again["body"]["properties"]["latestRevisionName"] == revision and "pendingRevision" not in again["private"]
    # A PUT that lists a secret without its value is refused, as Azure does.
    changed = app_record([{"name": "pg"}, {"name": "other", "value": "x"}], private=first["private"])
    with pytest.raises(HttpError) as caught:
        behaviour.prepare(ctx, changed, first)
    assert caught.value.code == "ContainerAppSecretInvalid"


def test_a_template_change_names_a_new_revision_and_a_taken_suffix_is_refused(ctx):
    behaviour = ContainerApp()
    first = app_record([])
    behaviour.prepare(ctx, first, None)
    newer = app_record([], image="orthanc:2", private=first["private"])
    behaviour.prepare(ctx, newer, first)
    assert newer["body"]["properties"]["latestRevisionName"] != first["body"]["properties"]["latestRevisionName"]
    taken_id = f"{APP}/revisions/orthanc--v1"
    ctx.store.put_resource(taken_id, {"private": {}, "body": {"id": taken_id}})
    taken = app_record([], image="orthanc:3")
    taken["body"]["properties"]["template"]["revisionSuffix"] = "v1"
    with pytest.raises(HttpError) as caught:
        behaviour.prepare(ctx, taken, newer)
    assert caught.value.code == "ContainerAppRevisionSuffixInUse"


def test_environment_keeps_the_shared_key_out_of_its_body_and_fills_azure_fields(ctx):
    record = {"private": {}, "body": {"id": ENV, "name": "env", "location": "westeurope", "properties": {
        "appLogsConfiguration": {"destination": "log-analytics", "logAnalyticsConfiguration": {
            "customerId": WORKSPACE_ID, "sharedKey": SHARED_KEY}}}}}
    ManagedEnvironment().prepare(ctx, record, None)
    props = record["body"]["properties"]
    assert "sharedKey" not in props["appLogsConfiguration"]["logAnalyticsConfiguration"]
    assert record["private"]["logAnalyticsSharedKey"] == SHARED_KEY
    assert props["staticIp"] == "127.0.0.1" and props["defaultDomain"].endswith(".westeurope.azurecontainerapps.io")
    # An update without the key (as GET shows the environment) keeps it.
    again = copy.deepcopy(record)
    ManagedEnvironment().prepare(ctx, again, record)
    assert again["private"]["logAnalyticsSharedKey"] == SHARED_KEY


@pytest.mark.parametrize("props,needle", [
    ({"sku": {"name": "Gold"}}, "sku.name"),
    ({"retentionInDays": 10}, "30-730"),
    ({"sku": {"name": "Free"}, "retentionInDays": 30}, "7-7"),
])
def test_workspace_refusals(ctx, props, needle):
    record = {"private": {}, "body": {"id": "w", "systemData": SYSTEM_DATA, "properties": props}}
    with pytest.raises(HttpError) as caught:
        Workspace().prepare(ctx, record, None)
    assert caught.value.status == 400 and needle in caught.value.message


def test_workspace_keys_only_through_the_action_and_the_id_is_kept(ctx):
    record = {"private": {}, "body": {"id": f"{RG}/providers/Microsoft.OperationalInsights/workspaces/w2",
                                      "systemData": SYSTEM_DATA, "properties": {}}}
    Workspace().prepare(ctx, record, None)
    assert "primarySharedKey" not in str(record["body"])
    status, keys = Workspace().action_sharedKeys(ctx, record, {})
    assert status == 200 and set(keys) == {"primarySharedKey", "secondarySharedKey"}
    again = copy.deepcopy(record)
    Workspace().prepare(ctx, again, record)
    assert again["body"]["properties"]["customerId"] == record["body"]["properties"]["customerId"]
    assert again["private"]["sharedKeys"] == record["private"]["sharedKeys"]
