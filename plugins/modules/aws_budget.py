#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: aws_budget
short_description: Create, update or delete an AWS cost budget with e-mail alerts
version_added: 0.1.0
description:
  - Makes a cost budget of the account match a limit per period, and its notifications match the thresholds, each
    sent by e-mail to the same addresses.
  - A notification whose addresses differ is replaced (deleted and created again with the new addresses).
  - amazon.aws and community.aws have no budget module.
options:
  name:
    description: Name of the budget (unique in the account).
    type: str
    required: true
  account_id:
    description: The account of the budget. Defaults to the caller's (STS GetCallerIdentity).
    type: str
  limit_amount:
    description: The cost limit per period (required with O(state=present)).
    type: float
  limit_unit:
    description: Currency of the limit.
    type: str
    default: USD
  time_unit:
    description: The period the limit applies to.
    type: str
    choices: [MONTHLY, QUARTERLY, ANNUALLY]
    default: MONTHLY
  thresholds:
    description:
      - Alerts, each when the cost (actual or forecasted) passes a threshold. V([]) removes every alert.
    type: list
    elements: dict
    default: []
    suboptions:
      threshold:
        description: Percent of the limit (or an absolute amount with O(thresholds[].threshold_type=ABSOLUTE_VALUE)).
        type: float
        required: true
      threshold_type:
        description: How O(thresholds[].threshold) is read.
        type: str
        choices: [PERCENTAGE, ABSOLUTE_VALUE]
        default: PERCENTAGE
      notification_type:
        description: Actual cost, or the cost forecast for the period.
        type: str
        choices: [ACTUAL, FORECASTED]
        default: ACTUAL
  emails:
    description: Addresses every alert is sent to (1 to 10; required when O(thresholds) is not empty).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - medimaging.orthanc.aws_connection
author:
  - medimaging.orthanc contributors (@medimaging)
'''

EXAMPLES = r'''
- name: 300 USD a month for the site, alerts at 80 % actual and 100 % forecasted
  medimaging.orthanc.aws_budget:
    name: orthweb-monthly
    limit_amount: 300
    thresholds:
      - threshold: 80
      - threshold: 100
        notification_type: FORECASTED
    emails: [pacs-admins@example.org]
'''

RETURN = r'''
budget:
  description: The budget's limit, period and alerts (empty after deletion).
  returned: always
  type: dict
  sample:
    BudgetName: orthweb-monthly
    BudgetLimit: {Amount: '300.0', Unit: USD}
    TimeUnit: MONTHLY
    BudgetType: COST
    Notifications:
      - {NotificationType: ACTUAL, ComparisonOperator: GREATER_THAN, Threshold: 80.0, ThresholdType: PERCENTAGE,
         Emails: [pacs-admins@example.org]}
'''

import re
from decimal import Decimal

from ansible_collections.medimaging.orthanc.plugins.module_utils.aws_client import AWSModule, BotoCoreError, ClientError, error_code

ACCOUNT = re.compile(r'^[0-9]{12}$')
EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')
# AWS's quotas: 5 notifications per budget, 10 e-mail subscribers per notification.
MAX_ALERTS = 5
MAX_EMAILS = 10
NOTIFICATION_KEYS = ('NotificationType', 'ComparisonOperator', 'Threshold', 'ThresholdType')


def check_input(aws):
    params = aws.params
    if params['account_id'] and not ACCOUNT.match(params['account_id']):
        aws.fail('account_id %r is not an AWS account id (12 digits)' % params['account_id'])
    if params['state'] == 'absent':
        return
    if params['limit_amount'] is None or params['limit_amount'] <= 0:
        aws.fail('limit_amount must be a positive amount (in limit_unit) with state=present; got %r' % params['limit_amount'])
    if not re.match(r'^[A-Z]{3}$', params['limit_unit']):
        aws.fail('limit_unit %r is not a currency code such as USD' % params['limit_unit'])
    thresholds = params['thresholds']
    if len(thresholds) > MAX_ALERTS:
        aws.fail('thresholds: AWS allows at most %d alerts per budget, %d given' % (MAX_ALERTS, len(thresholds)))
    if [t for t in thresholds if t['threshold'] <= 0]:
        aws.fail('thresholds: every threshold must be above 0')
    keys = [notification_key(alert(t)) for t in thresholds]
    if len(set(keys)) != len(keys):
        aws.fail('thresholds: the same threshold and notification_type is listed twice')
    emails = params['emails']
    if thresholds and not emails:
        aws.fail('emails: give at least one address to send the alerts to (or thresholds: [] for none)')
    if len(emails) > MAX_EMAILS:
        aws.fail('emails: AWS allows at most %d addresses per alert, %d given' % (MAX_EMAILS, len(emails)))
    bad = [email for email in emails if not EMAIL.match(email)]
    if bad:
        aws.fail('emails: not an e-mail address: %s' % ', '.join(bad))


def alert(threshold):
    return {'NotificationType': threshold['notification_type'], 'ComparisonOperator': 'GREATER_THAN',
            'Threshold': float(threshold['threshold']), 'ThresholdType': threshold['threshold_type']}


def notification_key(notification):
    return tuple(float(notification[k]) if k == 'Threshold' else notification.get(k) for k in NOTIFICATION_KEYS)


def body(params):
    return {'BudgetName': params['name'], 'BudgetType': 'COST', 'TimeUnit': params['time_unit'],
            'BudgetLimit': {'Amount': str(params['limit_amount']), 'Unit': params['limit_unit']}}


def same_budget(have, want):
    limit, wanted_limit = have.get('BudgetLimit', {}), want['BudgetLimit']
    return (have.get('TimeUnit') == want['TimeUnit'] and have.get('BudgetType') == want['BudgetType']
            and limit.get('Unit') == wanted_limit['Unit']
            and Decimal(str(limit.get('Amount', '0'))) == Decimal(wanted_limit['Amount']))


class Budgets(object):
    """The Budgets API calls, each failing with what was asked."""

    def __init__(self, aws, account_id):
        self.aws, self.account = aws, account_id
        self.api = aws.client('budgets', region=aws.params['region'] or 'us-east-1')
        self.name = aws.params['name']

    def call(self, asked, method, **request):
        try:
            return getattr(self.api, method)(AccountId=self.account, **request)
        except (BotoCoreError, ClientError) as error:
            self.aws.fail_aws(error, '%s (budget %s)' % (asked, self.name))

    def read(self):
        """The budget and its notifications with their addresses, or None."""
        try:
            budget = self.api.describe_budget(AccountId=self.account, BudgetName=self.name)['Budget']
        except (BotoCoreError, ClientError) as error:
            if error_code(error) == 'NotFoundException':
                return None
            self.aws.fail_aws(error, 'Reading budget %s' % self.name)
        notifications = self.call('Reading the alerts', 'describe_notifications_for_budget',
                                  BudgetName=self.name)['Notifications']
        found = []
        for notification in notifications:
            subscribers = self.call('Reading the addresses of an alert', 'describe_subscribers_for_notification',
                                    BudgetName=self.name, Notification=notification)['Subscribers']
            found.append((notification, sorted(s['Address'] for s in subscribers if s['SubscriptionType'] == 'EMAIL')))
        return budget, found


def email_subscribers(emails):
    return [{'SubscriptionType': 'EMAIL', 'Address': email} for email in emails]


def shown(budget, notifications):
    """The budget as this module returns it: its own fields and the alerts with their addresses."""
    if budget is None:
        return {}
    result = dict((k, budget[k]) for k in ('BudgetName', 'BudgetType', 'TimeUnit', 'BudgetLimit') if k in budget)
    result['Notifications'] = sorted(
        (dict(dict((k, n[k]) for k in NOTIFICATION_KEYS), Emails=emails) for n, emails in notifications),
        key=lambda n: (n['NotificationType'], n['Threshold']))
    return result


def main():
    aws = AWSModule(dict(
        name=dict(type='str', required=True),
        account_id=dict(type='str'),
        limit_amount=dict(type='float'),
        limit_unit=dict(type='str', default='USD'),
        time_unit=dict(type='str', choices=['MONTHLY', 'QUARTERLY', 'ANNUALLY'], default='MONTHLY'),
        thresholds=dict(type='list', elements='dict', default=[], options=dict(
            threshold=dict(type='float', required=True),
            threshold_type=dict(type='str', choices=['PERCENTAGE', 'ABSOLUTE_VALUE'], default='PERCENTAGE'),
            notification_type=dict(type='str', choices=['ACTUAL', 'FORECASTED'], default='ACTUAL'),
        )),
        emails=dict(type='list', elements='str', default=[]),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    ))
    params = aws.params
    check_input(aws)
    account = params['account_id']
    if not account:
        try:
            account = aws.client('sts').get_caller_identity()['Account']
        except (BotoCoreError, ClientError) as error:
            aws.fail_aws(error, 'Finding the account id (STS GetCallerIdentity)', 'Give account_id.')
    budgets = Budgets(aws, account)
    found = budgets.read()
    before = shown(*found) if found else {}
    if params['state'] == 'absent':
        if found and not aws.check_mode:
            budgets.call('Deleting', 'delete_budget', BudgetName=params['name'])
        aws.done(bool(found), before, {}, budget={})

    want = body(params)
    emails = sorted(params['emails'])
    alerts = [alert(t) for t in params['thresholds']]
    if not found:
        if not aws.check_mode:
            budgets.call('Creating', 'create_budget', Budget=want, NotificationsWithSubscribers=[
                {'Notification': a, 'Subscribers': email_subscribers(emails)} for a in alerts])
        after = shown(want, [(a, emails) for a in alerts])
        aws.done(True, {}, after, budget=after)

    budget, notifications = found
    wanted_keys = set(notification_key(a) for a in alerts)
    # an alert that is not wanted, or is wanted with other addresses, goes; the wanted ones missing are created
    stale = [n for n, have in notifications if notification_key(n) not in wanted_keys or have != emails]
    kept = set(notification_key(n) for n, have in notifications if n not in stale)
    missing = [a for a in alerts if notification_key(a) not in kept]
    update = not same_budget(budget, want)
    changed = update or bool(stale) or bool(missing)
    if changed and not aws.check_mode:
        if update:
            budgets.call('Updating the limit', 'update_budget', NewBudget=want)
        for notification in stale:
            budgets.call('Deleting an alert', 'delete_notification', BudgetName=params['name'], Notification=notification)
        for notification in missing:
            budgets.call('Creating an alert', 'create_notification', BudgetName=params['name'], Notification=notification,
                         Subscribers=email_subscribers(emails))
    after = shown(dict(budget, **want), [(a, emails) for a in alerts])
    aws.done(changed, before, after, budget=after)


if __name__ == '__main__':
    main()
