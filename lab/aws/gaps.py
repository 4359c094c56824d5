"""Where moto 5.2 answers differently from AWS, patched before the lab's server starts (each gap: what AWS does).

- RDS DescribeDBParameterGroups with a name that does not exist: AWS answers DBParameterGroupNotFound, moto an empty
  list (amazon.aws.rds_instance_param_group then fails with 'list index out of range' on its first run).
- RDS parameter groups: AWS lists a family's engine-default parameters in a new group, moto none (the module then
  reports "not an available parameter"). The lab seeds the PostgreSQL ones the roles set, with AWS's defaults.
- KMS ScheduleKeyDeletion with a key ARN: AWS accepts a key id or ARN, moto answers 500 (KeyError) to an ARN
  (amazon.aws.kms_key state=absent sends the ARN).
- EC2 CreateLaunchTemplate: AWS keeps the template's own tags (TagSpecifications of type launch-template) on the
  template, moto also copies them into version 1's LaunchTemplateData (amazon.aws.ec2_launch_template then sees a
  difference and adds a version on the second run).
- EC2 DeleteLaunchTemplateVersions: not implemented in moto (500), and amazon.aws.ec2_launch_template state=absent
  calls it for every non-default version before deleting the template (a template with two versions could not be
  torn down). The lab answers as AWS does (the listed non-default versions deleted, the default one refused); moto
  keeps the versions in its list (it finds versions by position) until the template itself is deleted.
- S3 bucket policies: AWS applies a statement only when its Condition holds, moto ignores Conditions, so the role's
  TLS-only statement (Deny when aws:SecureTransport is false) denied every object request. The lab's plain-http moto
  stands for AWS's https endpoints: statements conditioned on aws:SecureTransport=false are left out (the TLS case);
  every other statement is evaluated as moto does.
- Budgets UpdateBudget and DescribeSubscribersForNotification: not implemented in moto (medimaging.orthanc.aws_budget
  changes a limit with the first and reads an alert's addresses with the second). The lab answers as AWS does.
- EC2 CreateFlowLogs to S3: AWS accepts a bucket ARN with a folder (arn:aws:s3:::bucket/folder/), moto looks for a
  bucket named "bucket/folder/" and reports the destination missing. The lab checks the bucket and keeps the folder.
- S3 PutBucketLogging: moto reads every statement of the log bucket's policy as having a Principal mapping and
  answers 500 to a policy with a Principal "*" statement (such as the TLS-only Deny). The lab checks the logging
  service's permission among the statements with a Principal mapping only, as AWS finds it among all of them.
"""
import json
import types

from moto.budgets import exceptions as budgets_exceptions
from moto.budgets import responses as budgets_responses
from moto.core.responses import ActionResult
from moto.core.utils import unix_time
from moto.ec2.models import flow_logs as ec2_flow_logs
from moto.ec2.models import launch_templates as ec2_launch_templates
from moto.ec2.responses import launch_templates as ec2_launch_template_responses
from moto.kms import models as kms_models
from moto.rds import exceptions as rds_exceptions
from moto.rds import models as rds_models
from moto.s3 import models as s3_models


def _describe_db_parameter_groups(original):
    def describe(self, db_parameter_group_kwargs):
        name = db_parameter_group_kwargs.get("db_parameter_group_name")
        if name and name not in self.db_parameter_groups:
            raise rds_exceptions.DBParameterGroupNotFoundError(name)
        return original(self, db_parameter_group_kwargs)
    return describe


def _postgres_defaults(family):
    version = int("".join(ch for ch in family if ch.isdigit()) or 0)
    return {"rds.force_ssl": {"ParameterName": "rds.force_ssl", "ParameterValue": "1" if version >= 15 else "0",
                              "DataType": "boolean", "AllowedValues": "0,1", "IsModifiable": True,
                              "ApplyType": "dynamic", "Source": "engine-default"}}


def _create_db_parameter_group(original):
    def create(self, db_parameter_group_kwargs):
        group = original(self, db_parameter_group_kwargs)
        if (group.family or "").startswith("postgres"):
            group.parameters.update(_postgres_defaults(group.family))
        return group
    return create


def _create_launch_template(original):
    def create(self, name, description, template_data, tag_spec):
        kept = [spec for spec in template_data.get("TagSpecifications", [])
                if spec.get("ResourceType") != "launch-template"]
        if kept:
            template_data["TagSpecifications"] = kept
        else:
            template_data.pop("TagSpecifications", None)
        return original(self, name, description, template_data, tag_spec)
    return create


def _schedule_key_deletion(original):
    def schedule(self, key_id, pending_window_in_days):
        return original(self, key_id.rsplit("key/", 1)[-1], pending_window_in_days)
    return schedule


def _delete_launch_template_versions(self):
    name, template_id = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
    self.error_on_dryrun()
    backend = self.ec2_backend
    template = backend.get_launch_template_by_name(name) if name else backend.get_launch_template(template_id)
    deleted, refused = [], []
    for number in (str(v) for v in self._get_param("Versions", [])):
        entry = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": int(number)}
        if not number.isdigit() or not 1 <= int(number) <= len(template.versions):
            refused.append(dict(entry, VersionNumber=0, ResponseError={
                "Code": "launchTemplateVersionDoesNotExist", "Message": "version %s does not exist" % number}))
        elif int(number) == template.default_version_number:
            refused.append(dict(entry, ResponseError={
                "Code": "launchTemplateVersionIsDefaultVersion",
                "Message": "the default version of a launch template cannot be deleted"}))
        else:
            deleted.append(entry)
    return ActionResult({"SuccessfullyDeletedLaunchTemplateVersions": deleted,
                         "UnsuccessfullyDeletedLaunchTemplateVersions": refused})


def _insecure_transport_only(statement):
    """True for a statement that applies only to requests without TLS (Bool aws:SecureTransport false)."""
    condition = statement.get("Condition") or {}
    value = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return list(condition) == ["Bool"] and list(condition["Bool"]) == ["aws:SecureTransport"] and (
        value in ("false", False) or value in (["false"], [False]))


def _get_permission(original):
    def get_permission(self, action, resource):
        if self.policy is None:
            return original(self, action, resource)
        document = json.loads(self.policy)
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        kept = [statement for statement in statements if not _insecure_transport_only(statement)]
        if len(kept) == len(statements):
            return original(self, action, resource)
        from moto.iam.access_control import IAMPolicy, PermissionResult  # noqa: PLC0415 (as moto imports it)
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(dict(document, Statement=kept))).is_action_permitted(action, resource)
    return get_permission


def _budget(response, verb):
    account, name = response._get_param("AccountId"), response._get_param("BudgetName")
    name = name or (response._get_param("NewBudget") or {}).get("BudgetName")
    budget = response.backend.budgets[account].get(name)
    if budget is None:
        raise budgets_exceptions.NotFoundException("Unable to %s: %s - the budget doesn't exist." % (verb, name))
    return budget


def _update_budget(self):
    budget = _budget(self, "update budget")
    budget.budget.update(self._get_param("NewBudget"), LastUpdatedTime=unix_time())
    return json.dumps({})


def _describe_subscribers_for_notification(self):
    notification = self._get_param("Notification")
    for kept in _budget(self, "get notification").notifications:
        if kept.details == notification:
            return json.dumps({"Subscribers": kept.subscribers})
    raise budgets_exceptions.NotFoundException("Unable to get subscribers - the notification doesn't exist.")


def _create_flow_logs(original):
    def create(self, **request):
        destination = request.get("log_destination") or ""
        bucket, _, folder = destination.partition(":::")[2].partition("/")
        if request.get("log_destination_type") != "s3" or not folder:
            return original(self, **request)
        flow_logs, errors = original(self, **dict(request, log_destination=destination.split(":::")[0] + ":::" + bucket))
        for flow_log in flow_logs:
            flow_log.log_destination = destination
        return flow_logs, errors
    return create


def _log_permissions_enabled_policy(original):
    def check(target_bucket, target_prefix):
        document = json.loads(target_bucket.policy.decode()) if target_bucket.policy else {}
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        kept = [statement for statement in statements if isinstance(statement.get("Principal"), dict)]
        if len(kept) == len(statements):
            return original(target_bucket, target_prefix)
        shown = types.SimpleNamespace(name=target_bucket.name, partition=target_bucket.partition,
                                      policy=json.dumps(dict(document, Statement=kept)).encode())
        return original(shown, target_prefix)
    return staticmethod(check)


def apply():
    bucket = s3_models.FakeBucket
    bucket._log_permissions_enabled_policy = _log_permissions_enabled_policy(bucket._log_permissions_enabled_policy)
    flow_logs = ec2_flow_logs.FlowLogsBackend
    flow_logs.create_flow_logs = _create_flow_logs(flow_logs.create_flow_logs)
    budgets = budgets_responses.BudgetsResponse
    budgets.update_budget = _update_budget
    budgets.describe_subscribers_for_notification = _describe_subscribers_for_notification
    backend = rds_models.RDSBackend
    backend.describe_db_parameter_groups = _describe_db_parameter_groups(backend.describe_db_parameter_groups)
    backend.create_db_parameter_group = _create_db_parameter_group(backend.create_db_parameter_group)
    kms = kms_models.KmsBackend
    kms.schedule_key_deletion = _schedule_key_deletion(kms.schedule_key_deletion)
    templates = ec2_launch_templates.LaunchTemplateBackend
    templates.create_launch_template = _create_launch_template(templates.create_launch_template)
    s3_models.FakeBucket.get_permission = _get_permission(s3_models.FakeBucket.get_permission)
    ec2_launch_template_responses.LaunchTemplates.delete_launch_template_versions = _delete_launch_template_versions
