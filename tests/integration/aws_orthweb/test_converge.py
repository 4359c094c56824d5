"""aws_orthweb against moto: what one converge builds, that a second changes nothing, that check mode writes nothing."""
import base64
import json

from aws_harness import recap, succeeded

NAME = "orthweb-lab"
LAB_CIDR = "10.89.71.0/24"
PLAIN_CIDR = "10.89.72.17/32"  # the lab inventory's modality without TLS


def _vpc(scenario):
    vpcs = scenario.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Vpcs"]
    assert len(vpcs) == 1
    return vpcs[0]["VpcId"]


def _group(scenario, name):
    return scenario.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]


def test_network_spans_two_zones_and_s3_endpoint_serves_both_route_tables(scenario, converged):
    ec2 = scenario.client("ec2")
    vpc_id = _vpc(scenario)
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    tiers = {}
    for subnet in subnets:
        tier = {t["Key"]: t["Value"] for t in subnet["Tags"]}["Tier"]
        tiers.setdefault(tier, set()).add(subnet["AvailabilityZone"])
    assert tiers == {"public": {"us-east-1a", "us-east-1b"}, "private": {"us-east-1a", "us-east-1b"}}
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                {"Name": "tag:Project", "Values": [NAME]}])["RouteTables"]
    assert len(tables) == 2
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    [gateway] = [e for e in endpoints if e["VpcEndpointType"] == "Gateway"]
    assert gateway["ServiceName"] == "com.amazonaws.us-east-1.s3"
    assert sorted(gateway["RouteTableIds"]) == sorted(t["RouteTableId"] for t in tables)
    private = [t for t in tables if {x["Key"]: x["Value"] for x in t["Tags"]}["Name"] == NAME + "-private"][0]
    assert not [r for r in private["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


def test_interface_endpoints_serve_the_hosts_subnets_and_only_the_hosts(scenario, converged):
    ec2 = scenario.client("ec2")
    vpc_id = _vpc(scenario)
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    interface = {e["ServiceName"]: e for e in endpoints if e["VpcEndpointType"] == "Interface"}
    assert sorted(interface) == ["com.amazonaws.us-east-1.%s" % s for s in ("kms", "secretsmanager", "ssm")]
    public = {s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                                   {"Name": "tag:Tier", "Values": ["public"]}])["Subnets"]}
    group = _group(scenario, NAME + "-endpoints")
    for endpoint in interface.values():
        assert set(endpoint["SubnetIds"]) == public
        assert [g["GroupId"] for g in endpoint["Groups"]] == [group["GroupId"]]
    [rule] = group["IpPermissions"]
    assert (rule["FromPort"], rule["ToPort"]) == (443, 443) and not rule["IpRanges"]
    assert [g["GroupId"] for g in rule["UserIdGroupPairs"]] == [_group(scenario, NAME + "-hosts")["GroupId"]]


def test_security_groups_open_only_what_was_listed(scenario, converged):
    hosts = _group(scenario, NAME + "-hosts")
    opened = {(p["FromPort"], tuple(r["CidrIp"] for r in p["IpRanges"])) for p in hosts["IpPermissions"]}
    # no 22; plain DICOM only from its own list
    assert opened == {(443, (LAB_CIDR,)), (11112, (LAB_CIDR,)), (4242, (PLAIN_CIDR,))}
    database = _group(scenario, NAME + "-database")
    [rule] = database["IpPermissions"]
    assert rule["FromPort"] == 5432 and not rule["IpRanges"]
    assert [g["GroupId"] for g in rule["UserIdGroupPairs"]] == [hosts["GroupId"]]


def _key_arn(scenario):
    kms = scenario.client("kms")
    key_id = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/" + NAME][0]["TargetKeyId"]
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]


def test_data_is_encrypted_with_the_rotated_key_and_the_bucket_is_private(scenario, converged):
    kms, s3 = scenario.client("kms"), scenario.client("s3")
    key_arn = _key_arn(scenario)
    key_id = key_arn.rsplit("/", 1)[1]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    bucket = NAME + "-studies"
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"]
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    [statement] = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [lifecycle] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(t["Days"], t["StorageClass"]) for t in lifecycle["Transitions"]] == [(30, "STANDARD_IA"), (365, "GLACIER")]
    assert lifecycle["Filter"]["Prefix"] == "orthanc/"  # the studies only: the hosts' plugin is never in Glacier
    [plugin] = s3.list_objects_v2(Bucket=bucket, Prefix="deploy/")["Contents"]
    assert plugin["Key"].startswith("deploy/medimaging-plugin-")
    head = s3.head_object(Bucket=bucket, Key=plugin["Key"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    secrets = scenario.client("secretsmanager")
    for name in (NAME + "/database", NAME + "/host"):
        assert secrets.describe_secret(SecretId=name)["KmsKeyId"] == key_arn
    login = json.loads(secrets.get_secret_value(SecretId=NAME + "/database")["SecretString"])
    assert login["username"] == "orthanc" and len(login["password"]) == 32


def test_database_is_private_multi_az_encrypted_and_forces_tls(scenario, converged):
    rds = scenario.client("rds")
    [db] = rds.describe_db_instances(DBInstanceIdentifier=NAME + "-db")["DBInstances"]
    assert db["MultiAZ"] and db["StorageEncrypted"] and not db["PubliclyAccessible"]
    assert db["BackupRetentionPeriod"] == 7
    assert db["VpcSecurityGroups"][0]["VpcSecurityGroupId"] == _group(scenario, NAME + "-database")["GroupId"]
    assert {s["SubnetAvailabilityZone"]["Name"] for s in db["DBSubnetGroup"]["Subnets"]} == {"us-east-1a", "us-east-1b"}
    parameters = rds.describe_db_parameters(DBParameterGroupName=NAME + "-db")["Parameters"]
    assert [p["ParameterValue"] for p in parameters if p["ParameterName"] == "rds.force_ssl"] == ["1"]


def test_instance_role_reaches_this_bucket_secret_and_key_only(scenario, converged):
    iam = scenario.client("iam")
    document = iam.get_role_policy(RoleName=NAME + "-host", PolicyName=NAME + "-data")["PolicyDocument"]
    resources = set()
    for statement in document["Statement"]:
        listed = statement["Resource"]
        resources.update([listed] if isinstance(listed, str) else listed)
        assert "*" not in "".join(statement["Action"]).replace("s3:*", "")
    assert "arn:aws:s3:::%s-studies/*" % NAME in resources and not [r for r in resources if r.endswith(":*")]
    [profile] = iam.list_instance_profiles_for_role(RoleName=NAME + "-host")["InstanceProfiles"]
    assert profile["InstanceProfileName"] == NAME + "-host"
    attached = iam.list_attached_role_policies(RoleName=NAME + "-host")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonSSMManagedInstanceCore"]


def test_hosts_require_imdsv2_encrypted_root_and_the_site_address_is_on_the_primary(scenario, converged):
    ec2 = scenario.client("ec2")
    [version] = ec2.describe_launch_template_versions(LaunchTemplateName=NAME + "-host",
                                                      Versions=["$Latest"])["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"]
    assert data["IamInstanceProfile"]["Arn"].endswith(":instance-profile/%s-host" % NAME)
    user_data = base64.b64decode(data["UserData"]).decode()
    assert user_data.startswith("#cloud-config") and "BEGIN" not in user_data  # no key, no certificate in it
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:Project", "Values": [NAME]},
                                                   {"Name": "instance-state-name", "Values": ["running"]}])
    hosts = {i["Tags"][[t["Key"] for t in i["Tags"]].index("Name")]["Value"]: i
             for r in reservations["Reservations"] for i in r["Instances"]}
    assert sorted(hosts) == [NAME + "-primary", NAME + "-secondary"]
    assert len({h["Placement"]["AvailabilityZone"] for h in hosts.values()}) == 2
    assert {h["VpcId"] for h in hosts.values()} == {_vpc(scenario)}
    host_group = _group(scenario, NAME + "-hosts")["GroupId"]
    assert {g["GroupId"] for h in hosts.values() for g in h["SecurityGroups"]} == {host_group}
    [address] = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [NAME + "-site"]}])["Addresses"]
    assert address["InstanceId"] == hosts[NAME + "-primary"]["InstanceId"]


def test_vpc_flow_logs_record_all_traffic_into_the_encrypted_log_group(scenario, converged):
    key_arn = _key_arn(scenario)
    [flow_log] = scenario.client("ec2").describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [_vpc(scenario)]}])["FlowLogs"]
    assert (flow_log["TrafficType"], flow_log["LogDestinationType"], flow_log["LogGroupName"]) == (
        "ALL", "cloud-watch-logs", "/%s/vpc-flow-logs" % NAME)
    iam = scenario.client("iam")
    role = iam.get_role(RoleName=NAME + "-flow-logs")["Role"]
    assert flow_log["DeliverLogsPermissionArn"] == role["Arn"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    [writes] = iam.get_role_policy(RoleName=NAME + "-flow-logs", PolicyName=NAME + "-flow-logs")["PolicyDocument"][
        "Statement"]
    assert all(":log-group:/%s/vpc-flow-logs" % NAME in resource for resource in writes["Resource"])
    [group] = scenario.client("logs").describe_log_groups(logGroupNamePrefix="/%s/vpc-flow-logs" % NAME)["logGroups"]
    assert group["kmsKeyId"] == key_arn and group["retentionInDays"] == 365
    # the key lets CloudWatch Logs use it, for this site's log groups only
    policy = json.loads(scenario.client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    [logs] = [s for s in policy["Statement"] if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}]
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].endswith(":log-group:/%s/*" % NAME)


def test_studies_bucket_access_logs_go_to_a_log_bucket_allowed_by_policy_not_acl(scenario, converged):
    s3 = scenario.client("s3")
    logs = NAME + "-studies-logs"
    assert s3.get_bucket_logging(Bucket=NAME + "-studies")["LoggingEnabled"] == {
        "TargetBucket": logs, "TargetPrefix": "s3-access/"}
    assert s3.get_bucket_ownership_controls(Bucket=logs)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert [g["Grantee"]["Type"] for g in s3.get_bucket_acl(Bucket=logs)["Grants"]] == ["CanonicalUser"]  # no ACL grant
    [rule] = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"  # S3 cannot log into SSE-KMS
    assert all(s3.get_public_access_block(Bucket=logs)["PublicAccessBlockConfiguration"].values())
    statements = {s["Sid"]: s for s in json.loads(s3.get_bucket_policy(Bucket=logs)["Policy"])["Statement"]}
    assert sorted(statements) == ["DenyInsecureTransport", "S3ServerAccessLogs"]
    allowed = statements["S3ServerAccessLogs"]
    assert allowed["Principal"] == {"Service": "logging.s3.amazonaws.com"} and allowed["Action"] == "s3:PutObject"
    assert allowed["Resource"] == "arn:aws:s3:::%s/s3-access/*" % logs
    assert allowed["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::%s-studies" % NAME},
                                    "StringEquals": {"aws:SourceAccount": "123456789012"}}
    [expiry] = s3.get_bucket_lifecycle_configuration(Bucket=logs)["Rules"]
    assert expiry["Expiration"]["Days"] == 365 and expiry["Status"] == "Enabled"


def test_monthly_budget_alerts_by_mail(scenario, converged):
    budgets = scenario.client("budgets")
    budget = budgets.describe_budget(AccountId="123456789012", BudgetName=NAME + "-monthly")["Budget"]
    assert (budget["BudgetType"], budget["TimeUnit"], float(budget["BudgetLimit"]["Amount"]),
            budget["BudgetLimit"]["Unit"]) == ("COST", "MONTHLY", 50.0, "USD")
    alerts = {}
    for notification in budgets.describe_notifications_for_budget(AccountId="123456789012",
                                                                  BudgetName=NAME + "-monthly")["Notifications"]:
        subscribers = budgets.describe_subscribers_for_notification(
            AccountId="123456789012", BudgetName=NAME + "-monthly", Notification=notification)["Subscribers"]
        alerts[(notification["NotificationType"], notification["Threshold"])] = [s["Address"] for s in subscribers]
    assert alerts == {("ACTUAL", 80.0): ["pacs-admins@example.org"], ("FORECASTED", 100.0): ["pacs-admins@example.org"]}


def test_user_data_holds_no_password(scenario, converged):
    secrets = scenario.client("secretsmanager")
    login = json.loads(secrets.get_secret_value(SecretId=NAME + "/database")["SecretString"])
    users = json.loads(secrets.get_secret_value(SecretId=NAME + "/host")["SecretString"])["orthanc_users"]
    assert users and login["password"] not in converged["user_data"]
    assert not [password for password in users.values() if password in converged["user_data"]]


def test_second_converge_changes_nothing(scenario, converged):
    done = scenario.play("aws_orthweb.yml")
    changed = [line for line in done.stdout.splitlines() if line.startswith("changed:") or line.startswith("TASK")]
    assert succeeded(done)["changed"] == 0, "\n".join(changed)  # the tasks, each followed by its changes


def test_check_mode_reports_a_change_and_writes_nothing(scenario, converged):
    before = _group(scenario, NAME + "-hosts")["IpPermissions"]
    done = scenario.play("aws_orthweb.yml", {"aws_orthweb_web_cidrs": [LAB_CIDR, "192.0.2.0/24"]}, ["--check"])
    assert succeeded(done)["changed"] >= 1
    assert _group(scenario, NAME + "-hosts")["IpPermissions"] == before


def test_check_mode_from_nothing_creates_nothing(scenario, converged):
    dry = {"aws_orthweb_name": "orthweb-dry", "aws_orthweb_bucket_name": "orthweb-dry"}
    done = scenario.play("aws_orthweb.yml", dry, ["--check"])
    assert recap(done)["failed"] == 0, done.stdout[-3000:]
    assert "the whole Orthweb layout would be created" in " ".join(done.stdout.split())
    ec2 = scenario.client("ec2")
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["orthweb-dry"]}])["Vpcs"]
    assert "orthweb-dry" not in [b["Name"] for b in scenario.client("s3").list_buckets()["Buckets"]]
