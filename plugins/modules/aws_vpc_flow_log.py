#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: aws_vpc_flow_log
short_description: Create or delete the flow log of a VPC (to CloudWatch Logs or S3)
version_added: 0.1.0
description:
  - Makes one flow log of a VPC, identified by its destination (a log group, or an S3 ARN), match the options.
  - AWS cannot change a flow log, so a different traffic type, delivery role or aggregation interval replaces it
    (AWS refuses two flow logs of one VPC to one destination, so the old one is deleted first, and a few seconds of
    traffic go unrecorded). Tags are changed in place.
  - amazon.aws and community.aws have no flow log module; this one covers the options the aws_orthweb role needs.
options:
  vpc_id:
    description: The VPC whose traffic is logged (C(vpc-...)).
    type: str
    required: true
  destination_type:
    description: Where the records go.
    type: str
    choices: [cloud-watch-logs, s3]
    default: cloud-watch-logs
  log_group_name:
    description:
      - CloudWatch Logs group of the records (with O(destination_type=cloud-watch-logs)). Create it first, for example
        with amazon.aws.cloudwatchlogs_log_group and a KMS key.
    type: str
  deliver_logs_role_arn:
    description:
      - IAM role that the flow logs service assumes to write to the log group (required with
        O(destination_type=cloud-watch-logs) and O(state=present)).
    type: str
  log_destination:
    description:
      - S3 bucket ARN with an optional folder, for example C(arn:aws:s3:::site-logs/vpc-flow/)
        (with O(destination_type=s3)). The bucket's policy must let C(delivery.logs.amazonaws.com) write there.
    type: str
  traffic_type:
    description: Which traffic is recorded.
    type: str
    choices: [ALL, ACCEPT, REJECT]
    default: ALL
  max_aggregation_interval:
    description: Seconds over which a record aggregates packets.
    type: int
    choices: [60, 600]
    default: 600
  tags:
    description: Tags of the flow log. When set, the flow log carries exactly these tags.
    type: dict
extends_documentation_fragment:
  - medimaging.orthanc.aws_connection
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Record all traffic of the site's VPC in its encrypted log group
  medimaging.orthanc.aws_vpc_flow_log:
    vpc_id: vpc-0123456789abcdef0
    log_group_name: /orthweb/vpc-flow-logs
    deliver_logs_role_arn: arn:aws:iam::123456789012:role/orthweb-flow-logs
    tags:
      Name: orthweb

- name: Or into the log bucket under a folder
  medimaging.orthanc.aws_vpc_flow_log:
    vpc_id: vpc-0123456789abcdef0
    destination_type: s3
    log_destination: arn:aws:s3:::orthweb-logs/vpc-flow/
'''

RETURN = r'''
flow_log:
  description: The flow log as EC2 describes it (empty after deletion; in check mode what would be created).
  returned: always
  type: dict
  sample:
    FlowLogId: fl-0123456789abcdef0
    ResourceId: vpc-0123456789abcdef0
    TrafficType: ALL
    LogDestinationType: cloud-watch-logs
    LogGroupName: /orthweb/vpc-flow-logs
    DeliverLogsPermissionArn: arn:aws:iam::123456789012:role/orthweb-flow-logs
    MaxAggregationInterval: 600
    Tags: {Name: orthweb}
replaced:
  description: Ids of flow logs deleted because AWS cannot change them in place (or duplicates of the same destination).
  returned: always
  type: list
  elements: str
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.aws_client import AWSModule, BotoCoreError, ClientError

VPC_ID = re.compile(r'^vpc-[0-9a-f]{8,17}$')
ROLE_ARN = re.compile(r'^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$')
S3_ARN = re.compile(r'^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?]*)?$')
REPLACED_BY = ('TrafficType', 'DeliverLogsPermissionArn', 'MaxAggregationInterval')


def check_input(aws):
    """Refuse bad input, naming it, before any call."""
    params = aws.params
    if not VPC_ID.match(params['vpc_id']):
        aws.fail("vpc_id %r is not a VPC id: give the id (vpc-...) that amazon.aws.ec2_vpc_net returned" % params['vpc_id'])
    if params['destination_type'] == 'cloud-watch-logs':
        if not params['log_group_name']:
            aws.fail('log_group_name is required with destination_type=cloud-watch-logs: name the log group')
        role = params['deliver_logs_role_arn']
        if params['state'] == 'present' and not (role and ROLE_ARN.match(role)):
            aws.fail('deliver_logs_role_arn %r is not an IAM role ARN: CloudWatch Logs delivery needs a role that '
                     'vpc-flow-logs.amazonaws.com may assume (arn:aws:iam::ACCOUNT:role/NAME)' % role)
    elif not (params['log_destination'] and S3_ARN.match(params['log_destination'])):
        aws.fail('log_destination %r is not an S3 bucket ARN: give arn:aws:s3:::BUCKET or arn:aws:s3:::BUCKET/FOLDER/'
                 % params['log_destination'])
    for key, value in (params['tags'] or {}).items():
        if not isinstance(value, str):
            aws.fail('tags: the value of %r must be a string (quote it)' % key)


def wanted(params):
    flow_log = {'ResourceId': params['vpc_id'], 'TrafficType': params['traffic_type'],
                'LogDestinationType': params['destination_type'],
                'MaxAggregationInterval': params['max_aggregation_interval'], 'Tags': params['tags'] or {}}
    if params['destination_type'] == 'cloud-watch-logs':
        flow_log.update(LogGroupName=params['log_group_name'], DeliverLogsPermissionArn=params['deliver_logs_role_arn'])
    else:
        flow_log['LogDestination'] = params['log_destination']
    return flow_log


def seen(described):
    """The fields this module manages, from a DescribeFlowLogs entry."""
    kept = ('FlowLogId', 'ResourceId', 'TrafficType', 'LogDestinationType', 'LogGroupName',
            'DeliverLogsPermissionArn', 'LogDestination', 'MaxAggregationInterval')
    flow_log = dict((key, described[key]) for key in kept if described.get(key) is not None)
    flow_log['Tags'] = dict((tag['Key'], tag['Value']) for tag in described.get('Tags', []))
    if flow_log.get('LogDestinationType') == 'cloud-watch-logs':
        flow_log.pop('LogDestination', None)  # the log group's ARN, derived from LogGroupName
    return flow_log


def same_destination(flow_log, params):
    if flow_log.get('LogDestinationType') != params['destination_type']:
        return False
    if params['destination_type'] == 'cloud-watch-logs':
        return flow_log.get('LogGroupName') == params['log_group_name']
    return flow_log.get('LogDestination', '').rstrip('/') == params['log_destination'].rstrip('/')


def create(aws, ec2, want):
    request = dict(ResourceIds=[want['ResourceId']], ResourceType='VPC', TrafficType=want['TrafficType'],
                   LogDestinationType=want['LogDestinationType'], MaxAggregationInterval=want['MaxAggregationInterval'])
    if want['LogDestinationType'] == 'cloud-watch-logs':
        request.update(LogGroupName=want['LogGroupName'], DeliverLogsPermissionArn=want['DeliverLogsPermissionArn'])
    else:
        request['LogDestination'] = want['LogDestination']
    if want['Tags']:
        request['TagSpecifications'] = [{'ResourceType': 'vpc-flow-log',
                                         'Tags': [{'Key': k, 'Value': v} for k, v in sorted(want['Tags'].items())]}]
    try:
        answer = ec2.create_flow_logs(**request)
    except (BotoCoreError, ClientError) as error:
        aws.fail_aws(error, 'Creating the flow log of %s' % want['ResourceId'],
                     'Check that the VPC, the destination and the delivery role exist.')
    if answer.get('Unsuccessful'):
        problem = answer['Unsuccessful'][0].get('Error', {})
        aws.fail('Creating the flow log of %s failed: AWS answered %s: %s. Check the destination (it must exist and '
                 'let the flow logs service write).' % (want['ResourceId'], problem.get('Code'), problem.get('Message')))
    return answer['FlowLogIds'][0]


def retag(aws, ec2, flow_log_id, have, want):
    removed = [{'Key': key} for key in sorted(set(have) - set(want))]
    added = [{'Key': key, 'Value': value} for key, value in sorted(want.items()) if have.get(key) != value]
    try:
        if removed:
            ec2.delete_tags(Resources=[flow_log_id], Tags=removed)
        if added:
            ec2.create_tags(Resources=[flow_log_id], Tags=added)
    except (BotoCoreError, ClientError) as error:
        aws.fail_aws(error, 'Tagging flow log %s' % flow_log_id)


def delete(aws, ec2, flow_log_ids):
    if not flow_log_ids:
        return
    try:
        answer = ec2.delete_flow_logs(FlowLogIds=flow_log_ids)
    except (BotoCoreError, ClientError) as error:
        aws.fail_aws(error, 'Deleting flow logs %s' % ', '.join(flow_log_ids))
    if answer.get('Unsuccessful'):
        aws.fail('Deleting flow logs failed: AWS answered %s' % answer['Unsuccessful'])


def main():
    aws = AWSModule(dict(
        vpc_id=dict(type='str', required=True),
        destination_type=dict(type='str', choices=['cloud-watch-logs', 's3'], default='cloud-watch-logs'),
        log_group_name=dict(type='str'),
        deliver_logs_role_arn=dict(type='str'),
        log_destination=dict(type='str'),
        traffic_type=dict(type='str', choices=['ALL', 'ACCEPT', 'REJECT'], default='ALL'),
        max_aggregation_interval=dict(type='int', choices=[60, 600], default=600),
        tags=dict(type='dict'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    ))
    params = aws.params
    check_input(aws)
    ec2 = aws.client('ec2')
    try:
        described = ec2.describe_flow_logs(Filters=[{'Name': 'resource-id', 'Values': [params['vpc_id']]}])['FlowLogs']
    except (BotoCoreError, ClientError) as error:
        aws.fail_aws(error, 'Reading the flow logs of %s' % params['vpc_id'])
    mine = [seen(entry) for entry in described if same_destination(seen(entry), params)]
    before = mine[0] if mine else {}
    if params['state'] == 'absent':
        ids = [entry['FlowLogId'] for entry in mine]
        if ids and not aws.check_mode:
            delete(aws, ec2, ids)
        aws.done(bool(ids), before, {}, flow_log={}, replaced=ids)

    want = wanted(params)
    current = dict((k, v) for k, v in before.items() if k != 'FlowLogId')
    if params['tags'] is None:
        want['Tags'] = current.get('Tags', {})
    replace = bool(before) and any(current.get(key) != want.get(key) for key in REPLACED_BY)
    stale = [entry['FlowLogId'] for entry in mine[1:]] + ([before['FlowLogId']] if replace else [])
    retagging = bool(before) and not replace and current.get('Tags') != want['Tags']
    changed = not before or replace or retagging or bool(stale)
    flow_log_id = before.get('FlowLogId')
    if changed and not aws.check_mode:
        delete(aws, ec2, stale)  # first: AWS refuses a second flow log to the same destination
        if not before or replace:
            flow_log_id = create(aws, ec2, want)
        elif retagging:
            retag(aws, ec2, flow_log_id, current['Tags'], want['Tags'])
    after = dict(want, FlowLogId=flow_log_id) if flow_log_id and (not replace or not aws.check_mode) else want
    aws.done(changed, current, dict((k, v) for k, v in after.items() if k != 'FlowLogId'), flow_log=after,
             replaced=stale)


if __name__ == '__main__':
    main()
