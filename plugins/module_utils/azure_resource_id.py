# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM resource ids used as scopes, checked segment by segment before any call.

Why so strict: the HTTP stack normalises a path, so `/subscriptions/S/resourceGroups/rg/../..` is sent as
`/subscriptions/S` and a grant meant for a group lands on the whole subscription. Only these shapes pass:

  /subscriptions/{guid}
  /subscriptions/{guid}/resourceGroups/{group}
  /subscriptions/{guid}/resourceGroups/{group}/providers/{Namespace}/{type}/{name}[/{type}/{name}...]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import (
    GUID_PATTERN, full_match, name_problem)

SHAPES = ('/subscriptions/{id}, /subscriptions/{id}/resourceGroups/{group} or '
          '/subscriptions/{id}/resourceGroups/{group}/providers/{Namespace}/{type}/{name}')
NAMESPACE = r'[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+'
RESOURCE_TYPE = r'[A-Za-z][A-Za-z0-9]*'
# A resource name: no path, query or escape characters, no whitespace or control characters.
RESOURCE_NAME = r'[^/\\?#%&:<>*\s\x00-\x1f\x7f]{1,260}'


def _segment_problem(segments):
    for index, segment in enumerate(segments):
        if segment in ('', '.', '..'):
            return 'segment %d is %s: empty, "." and ".." segments are not allowed' % (
                index + 1, repr(segment) if segment else 'empty')
    return None


def scope_problem(scope):
    """None when scope is one of the known ARM id shapes, else what is wrong, in words."""
    if not isinstance(scope, str) or not scope:
        return 'it is empty'
    if not scope.startswith('/'):
        return 'it must start with /subscriptions/'
    if scope.endswith('/'):
        return 'it ends with "/"'
    segments = scope[1:].split('/')
    problem = _segment_problem(segments)
    if problem:
        return problem
    if segments[0].lower() != 'subscriptions' or len(segments) < 2:
        return 'it must start with /subscriptions/{subscription id}'
    if not full_match(GUID_PATTERN, segments[1]):
        return 'the subscription id %r is not a GUID' % segments[1]
    if len(segments) == 2:
        return None
    if segments[2].lower() != 'resourcegroups' or len(segments) < 4:
        return 'after the subscription only resourceGroups/{group} may follow'
    if name_problem('resource_group', segments[3]):
        return 'the resource group name %r is not valid (%s)' % (segments[3], name_problem('resource_group', segments[3]))
    if len(segments) == 4:
        return None
    return _provider_problem(segments[4:])


def _provider_problem(rest):
    if rest[0].lower() != 'providers' or len(rest) < 4:
        return 'after the resource group only providers/{Namespace}/{type}/{name} may follow'
    if not full_match(NAMESPACE, rest[1]):
        return 'the provider namespace %r is not valid (for example Microsoft.HealthcareApis)' % rest[1]
    pairs = rest[2:]
    if len(pairs) % 2:
        return 'a resource type without a name at the end (%r)' % pairs[-1]
    for resource_type, name in zip(pairs[0::2], pairs[1::2]):
        if resource_type.lower() == 'providers':
            return 'nested providers/ (extension resources) are not supported as a scope'
        if not full_match(RESOURCE_TYPE, resource_type):
            return 'the resource type %r is not valid' % resource_type
        if not full_match(RESOURCE_NAME, name):
            return 'the resource name %r has characters a resource name cannot hold' % name
    return None
