#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: aws_s3_access_logging
short_description: Turn S3 server access logging of a bucket on or off, without ACLs
version_added: 0.1.0
description:
  - Sets where S3 writes the access logs of a bucket (PutBucketLogging), and nothing else.
  - Unlike community.aws.s3_logging it never adds an ACL grant to the log bucket (AWS refuses ACLs on buckets whose
    ObjectOwnership is BucketOwnerEnforced). Give the log bucket a policy instead that allows the service principal
    C(logging.s3.amazonaws.com) C(s3:PutObject) under the prefix, with C(aws:SourceAccount) and C(aws:SourceArn)
    conditions; the aws_orthweb role's log bucket has one.
  - The log bucket must use SSE-S3 (AES256) default encryption; S3 cannot deliver access logs to an SSE-KMS bucket.
options:
  bucket:
    description: The bucket whose requests are logged.
    type: str
    required: true
  target_bucket:
    description: The bucket the logs go to (required with O(state=present)); not the logged bucket itself.
    type: str
  target_prefix:
    description: Folder of the logs in O(target_bucket), for example C(s3-access/studies/).
    type: str
    default: ''
extends_documentation_fragment:
  - medimaging.orthanc.aws_connection
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: Log the requests to the studies bucket into the log bucket
  medimaging.orthanc.aws_s3_access_logging:
    bucket: orthweb-studies
    target_bucket: orthweb-logs
    target_prefix: s3-access/orthweb-studies/

- name: Stop logging
  medimaging.orthanc.aws_s3_access_logging:
    bucket: orthweb-studies
    state: absent
'''

RETURN = r'''
logging:
  description: The bucket's logging as S3 answers GetBucketLogging (empty when off).
  returned: always
  type: dict
  sample:
    TargetBucket: orthweb-logs
    TargetPrefix: s3-access/orthweb-studies/
'''

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.aws_client import AWSModule, BotoCoreError, ClientError

BUCKET = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')


def check_input(aws):
    params = aws.params
    for option in ('bucket', 'target_bucket'):
        if params[option] is not None and not BUCKET.match(params[option]):
            aws.fail('%s %r is not an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)'
                     % (option, params[option]))
    if params['state'] == 'present':
        if not params['target_bucket']:
            aws.fail('target_bucket is required with state=present: name the bucket the logs go to')
        if params['target_bucket'] == params['bucket']:
            aws.fail('target_bucket must not be the logged bucket: each log delivery would be logged in turn')
    if params['target_prefix'].startswith('/'):
        aws.fail('target_prefix %r must not start with /: S3 keys have no leading slash' % params['target_prefix'])


def main():
    aws = AWSModule(dict(
        bucket=dict(type='str', required=True),
        target_bucket=dict(type='str'),
        target_prefix=dict(type='str', default=''),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    ))
    params = aws.params
    check_input(aws)
    s3 = aws.client('s3')
    try:
        current = s3.get_bucket_logging(Bucket=params['bucket']).get('LoggingEnabled', {})
    except (BotoCoreError, ClientError) as error:
        aws.fail_aws(error, 'Reading the access logging of bucket %s' % params['bucket'])
    before = dict((k, current[k]) for k in ('TargetBucket', 'TargetPrefix') if k in current)
    if before:
        before.setdefault('TargetPrefix', '')
    after = {} if params['state'] == 'absent' else {'TargetBucket': params['target_bucket'],
                                                    'TargetPrefix': params['target_prefix']}
    changed = before != after
    if changed and not aws.check_mode:
        status = {'LoggingEnabled': after} if after else {}
        try:
            s3.put_bucket_logging(Bucket=params['bucket'], BucketLoggingStatus=status)
        except (BotoCoreError, ClientError) as error:
            aws.fail_aws(error, 'Setting the access logging of bucket %s' % params['bucket'],
                         'The log bucket must exist in the same region and account, use SSE-S3, and have a policy '
                         'allowing logging.s3.amazonaws.com s3:PutObject under the prefix.')
    aws.done(changed, before, after, logging=after)


if __name__ == '__main__':
    main()
