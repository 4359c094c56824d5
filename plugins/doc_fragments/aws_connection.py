# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The connection options of the collection's own AWS modules (plugins/module_utils/aws_client.py): the names
    # and environment variables of amazon.aws's, so the same environment and module_defaults reach both.
    DOCUMENTATION = r'''
options:
  region:
    description:
      - AWS region. Defaults to E(AWS_REGION) or E(AWS_DEFAULT_REGION).
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - Another endpoint than AWS's own, for example a local test server. Defaults to E(AWS_URL) or E(AWS_ENDPOINT_URL).
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description:
      - AWS access key id. Defaults to E(AWS_ACCESS_KEY_ID); without any, boto3's own chain (profile, instance role) applies.
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description:
      - AWS secret access key. Defaults to E(AWS_SECRET_ACCESS_KEY).
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description:
      - AWS session token for temporary credentials. Defaults to E(AWS_SESSION_TOKEN).
    type: str
    aliases: [aws_session_token]
  profile:
    description:
      - Named profile of the AWS configuration files. Defaults to E(AWS_PROFILE).
    type: str
    aliases: [aws_profile]
  state:
    description:
      - V(present) makes the resource match the options; V(absent) removes it (nothing to do when it is not there).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Check mode reads and compares, reports C(changed) and the diff, and writes nothing.
requirements:
  - boto3
'''
