# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""boto3 clients, AWS error reports and results for the collection's own AWS modules (the few resources
amazon.aws and community.aws have no fitting module for).

Why not amazon.aws's AnsibleAWSModule: this collection declares no dependency and its sanity tests run on the built
collection alone, where amazon.aws's module_utils and doc fragments do not resolve. The connection options below
carry amazon.aws's names and environment fallbacks (AWS_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ...), so a role calls
these modules exactly as it calls amazon.aws's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import boto3
    # imported here for the modules, which catch them
    from botocore.exceptions import BotoCoreError, ClientError  # pylint: disable=unused-import
    BOTO3_IMPORT_ERROR = None
except ImportError:
    BOTO3_IMPORT_ERROR = traceback.format_exc()

    class BotoCoreError(Exception):
        pass

    class ClientError(Exception):
        pass

CONNECTION_SPEC = dict(
    region=dict(type='str', aliases=['aws_region'], fallback=(env_fallback, ['AWS_REGION', 'AWS_DEFAULT_REGION'])),
    endpoint_url=dict(type='str', aliases=['aws_endpoint_url'],
                      fallback=(env_fallback, ['AWS_URL', 'AWS_ENDPOINT_URL'])),
    access_key=dict(type='str', aliases=['aws_access_key_id'], no_log=False,
                    fallback=(env_fallback, ['AWS_ACCESS_KEY_ID'])),
    secret_key=dict(type='str', aliases=['aws_secret_access_key'], no_log=True,
                    fallback=(env_fallback, ['AWS_SECRET_ACCESS_KEY'])),
    session_token=dict(type='str', aliases=['aws_session_token'], no_log=True,
                       fallback=(env_fallback, ['AWS_SESSION_TOKEN'])),
    profile=dict(type='str', aliases=['aws_profile'], fallback=(env_fallback, ['AWS_PROFILE'])),
)


def error_code(error):
    """The AWS error code of a ClientError ('' for anything else)."""
    return (getattr(error, 'response', None) or {}).get('Error', {}).get('Code', '')


class AWSModule(object):
    """An AnsibleModule with the connection options, check mode, boto3 clients and the result helpers."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(CONNECTION_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        if BOTO3_IMPORT_ERROR:
            self.module.fail_json(msg=missing_required_lib('boto3'), exception=BOTO3_IMPORT_ERROR)

    def client(self, service, region=None):
        params = self.params
        session = boto3.session.Session(profile_name=params['profile']) if params['profile'] else boto3.session.Session()
        return session.client(service, region_name=region or params['region'], endpoint_url=params['endpoint_url'] or None,
                              aws_access_key_id=params['access_key'], aws_secret_access_key=params['secret_key'],
                              aws_session_token=params['session_token'])

    def fail(self, msg, **result):
        self.module.fail_json(msg=msg, **result)

    def fail_aws(self, error, asked, todo='', **result):
        """What was asked, what AWS answered (code and message) and what to do; never a bare traceback."""
        response = getattr(error, 'response', None) or {}
        answer = response.get('Error', {})
        said = '%s: %s' % (answer.get('Code'), answer.get('Message')) if answer else str(error)
        msg = '%s failed: AWS answered %s.%s' % (asked, said, (' ' + todo) if todo else '')
        self.module.fail_json(msg=msg, error=answer, exception=traceback.format_exc(), **result)

    def done(self, changed, before, after, **result):
        """Exit with changed, the resource as it is now (or would be), and before/after as the diff."""
        if self.module._diff:
            result['diff'] = dict(before=before, after=after)
        self.module.exit_json(changed=changed, **result)
