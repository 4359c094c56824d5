# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired-state engine every Azure module declares itself over.

GET -> compare only what the user set -> PUT/PATCH when different -> wait for the LRO ->
{changed, diff, resource}. Check mode stops before any write. A no-op costs one GET.

Bodies are plain dicts shaped like the ARM REST API (camelCase, 'properties' nesting), so a module's
declaration reads like the REST reference, and the same dict is sent, compared and shown in the diff.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import (
    AzureOperationError, from_exception)
from ansible_collections.medimaging.orthanc.plugins.module_utils.dict_merge import deep_merge

# Fields ARM sets itself: never compared, never sent back in a PUT.
COMMON_READ_ONLY = ('id', 'name', 'type', 'etag', 'systemData', 'properties.provisioningState')
# 404 codes that say the resource's container is missing, not the resource itself.
PARENT_CODES = ('SubscriptionNotFound', 'ResourceGroupNotFound', 'ParentResourceNotFound')


def raw_json(pipeline_response, deserialized, headers):
    """SDK `cls=` hook: keep the REST JSON instead of the SDK model (works for every SDK generator)."""
    response = pipeline_response.http_response
    try:
        text = response.text()
    except Exception:  # no body (204) or a streamed body
        return None
    if not text:
        return None
    import json
    return json.loads(text)


# ---------------------------------------------------------------- pure comparison


def prune(value):
    """Drop None (= 'not set by the user') from nested dicts; keep empty dicts/lists (they are a choice)."""
    if isinstance(value, dict):
        return dict((k, prune(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [prune(v) for v in value if v is not None]
    return value


def _norm_location(value):
    return value.replace(' ', '').lower() if isinstance(value, str) else value


def _is_arm_id(value):
    return isinstance(value, str) and value.lower().startswith('/subscriptions/')


def values_match(current, desired, exact=False, case_insensitive=False):
    """True when current satisfies desired.

    dicts: every key the user set matches (extra keys on the server are fine) unless exact;
    lists: same length and every desired item matches a distinct current item (order-free: ARM
    reorders lists such as CORS origins or IP rules); ARM ids and case_insensitive strings ignore case.
    """
    if desired is None:
        return True
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            return False
        if exact and set(current) != set(desired):
            return False
        return all(values_match(current.get(k), v, exact, case_insensitive) for k, v in desired.items())
    if isinstance(desired, list):
        if current is None and not desired:
            return True  # ARM leaves out empty lists (no service endpoints, no rules): same as []
        if not isinstance(current, list) or len(current) != len(desired):
            return False
        remaining = list(current)
        for item in desired:
            for index, candidate in enumerate(remaining):
                if values_match(candidate, item, exact, case_insensitive):
                    del remaining[index]
                    break
            else:
                return False
        return True
    if isinstance(desired, bool) or isinstance(current, bool):
        return isinstance(current, bool) and current is desired
    if isinstance(desired, str) and isinstance(current, str):
        if case_insensitive or (_is_arm_id(desired) and _is_arm_id(current)):
            return desired.lower() == current.lower()
    return current == desired


def _map_key(key):
    return key.lower() if _is_arm_id(key) else key


def same_map(current, desired, case_insensitive=False):
    """A map compared exactly: the same keys (ARM ids in any case), each value matching what the user set.

    Only the keys are exact: Azure fills the values of some maps itself (principalId and clientId under each
    identity of identity.userAssignedIdentities, which the user gives as {id: {}}), and those are not the user's.
    """
    if not isinstance(current, dict):
        return False
    have = dict((_map_key(k), v) for k, v in current.items())
    want = dict((_map_key(k), v) for k, v in desired.items())
    return set(have) == set(want) and all(
        values_match(have[k], v, case_insensitive=case_insensitive) for k, v in want.items())


def differences(current, desired, exact=(), case_insensitive=(), ignore=(), _path=''):
    """[(dotted path, before, after)] for every field the user set that the server holds differently.

    Descends dicts so a change deep in 'properties' is reported at its own path; lists and the
    paths in exact are compared as a whole (a map in exact: its keys exactly, see same_map).
    """
    found = []
    current = current if isinstance(current, dict) else {}
    for key, want in desired.items():
        path = '%s.%s' % (_path, key) if _path else key
        if want is None or path in ignore:
            continue
        have = current.get(key)
        if path == 'location' or path.endswith('.location'):
            if _norm_location(have) != _norm_location(want):
                found.append((path, have, want))
        elif isinstance(want, dict) and path not in exact and want:
            found.extend(differences(have, want, exact, case_insensitive, ignore, path))
        elif isinstance(want, dict) and path in exact:
            if not same_map(have, want, case_insensitive=path in case_insensitive):
                found.append((path, have, want))
        elif not values_match(have, want, exact=path in exact, case_insensitive=path in case_insensitive):
            found.append((path, have, want))
    return found


def get_path(data, path):
    for key in path.split('.'):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def set_path(data, path, value):
    keys = path.split('.')
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value


def drop_paths(data, paths):
    data = copy.deepcopy(data)
    for path in paths:
        keys = path.split('.')
        node = data
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(keys[-1], None)
    return data


def diff_view(found):
    """Ansible diff (before/after) holding only the compared fields, nested like the resource."""
    before, after = {}, {}
    for path, have, want in found:
        set_path(before, path, have)
        set_path(after, path, want)
    return {'before': before, 'after': after}


# ---------------------------------------------------------------- the resource declaration


class ArmResource(object):
    """How to read, write and delete one ARM resource: small callables bound to an SDK client.

    read() -> REST dict or raises ResourceNotFoundError; create(body) and update(body) -> REST dict
    or an LROPoller; delete() -> None or an LROPoller. update_mode 'put' sends the current resource
    with the user's fields merged in (PUT replaces the whole resource); 'patch' sends only the
    user's fields minus create_only ones. parent is the ArmResource this one lives in (its resource
    group, or the workspace/server/account of a child resource): before a create it must exist.
    """

    def __init__(self, kind, name, read, create=None, delete=None, update=None, update_mode='put',
                 read_only=(), immutable=(), exact=(), case_insensitive=(), create_only=(), write_only=None,
                 parent=None):
        if update_mode not in ('put', 'patch'):
            raise ValueError('update_mode must be put or patch')
        self.kind = kind
        self.name = name
        self.read = read
        self.create = create
        self.update = update or create
        self.delete = delete
        self.update_mode = update_mode
        self.read_only = tuple(COMMON_READ_ONLY) + tuple(read_only)
        self.immutable = tuple(immutable)
        self.exact = tuple(exact)
        self.case_insensitive = tuple(case_insensitive)
        self.create_only = tuple(create_only)
        # {dotted path: value} sent on create only and never compared nor shown (passwords).
        self.write_only = dict(write_only or {})
        self.parent = parent
        self.missing = None  # the AzureOperationError of the last read that answered 404

    def label(self):
        return "%s '%s'" % (self.kind, self.name)


# ---------------------------------------------------------------- the engine


class DesiredState(object):
    """Converges one ArmResource. One instance per module run."""

    def __init__(self, check_mode=False, wait=True, wait_timeout=1800, not_found=None):
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        if not_found is None:
            from azure.core.exceptions import ResourceNotFoundError
            not_found = ResourceNotFoundError
        self.not_found = not_found

    def current(self, resource):
        resource.missing = None
        try:
            return resource.read()
        except self.not_found as exc:
            resource.missing = from_exception(exc, 'read %s' % resource.label())
            return None
        except Exception as exc:
            raise from_exception(exc, 'read %s' % resource.label())

    def require_parent(self, resource, asked):
        """Fail unless the subscription and every parent of a missing resource exist (check mode too).

        A 404 may mean 'no such resource' or 'no such group/subscription/parent': ARM says which in its
        code; when it does not, the parent is read (one more GET, on create only).
        """
        code = resource.missing.code if resource.missing is not None else None
        if code in PARENT_CODES and (code == 'SubscriptionNotFound' or resource.parent is not None):
            raise AzureOperationError(asked, code=code, message=resource.missing.arm_message,
                                      status=resource.missing.status)
        parent = resource.parent
        if parent is None:
            return
        try:
            if self.current(parent) is not None:
                return
        except AzureOperationError as exc:
            if exc.status == 403:
                return  # an identity scoped below the parent may not read it: ARM judges the write itself
            raise
        self.require_parent(parent, asked)  # the deepest missing level is the one to name
        said = parent.missing.arm_message if parent.missing is not None else None
        raise AzureOperationError(
            asked, status=404, code='ResourceGroupNotFound' if parent.kind == 'resource group' else 'ParentResourceNotFound',
            message='the %s does not exist%s' % (parent.label(), ' (%s)' % said.rstrip('.') if said else ''))

    def present(self, resource, desired, current=None, have_current=False):
        """Make resource match desired (a REST-shaped dict; None values mean 'not set')."""
        desired = prune(desired)
        if not have_current:
            current = self.current(resource)
        if current is None:
            self.require_parent(resource, 'create %s' % resource.label())
            body = copy.deepcopy(desired)
            for path, value in resource.write_only.items():
                if value is not None:
                    set_path(body, path, value)
            result = {'changed': True, 'diff': {'before': {}, 'after': desired}}
            if self.check_mode:
                result['resource'] = desired
                return result
            written = self.write(resource.create, body, 'create %s' % resource.label())
            result['resource'] = written if written is not None else desired
            return result

        found = differences(current, desired, exact=resource.exact, case_insensitive=resource.case_insensitive,
                            ignore=resource.read_only)
        if not found:
            return {'changed': False, 'diff': {'before': {}, 'after': {}}, 'resource': current}
        blocked = [path for path, dummy, dummy2 in found
                   if any(path == p or path.startswith(p + '.') for p in resource.immutable)]
        if blocked:
            raise AzureOperationError(
                'update %s' % resource.label(), code='ImmutableField',
                message='%s cannot be changed after creation (Azure has %s, the task asks %s)' % (
                    ', '.join(blocked), _show(get_path(current, blocked[0])), _show(get_path(desired, blocked[0]))),
                hint='keep the current value, or delete the resource (state=absent) and create it again')
        result = {'changed': True, 'diff': diff_view(found)}
        if self.check_mode:
            result['resource'] = deep_merge(current, desired)
            return result
        if resource.update_mode == 'put':
            body = deep_merge(drop_paths(current, resource.read_only), desired)
        else:
            body = drop_paths(desired, resource.create_only)
        written = self.write(resource.update, body, 'update %s' % resource.label())
        result['resource'] = written if written is not None else deep_merge(current, desired)
        return result

    def absent(self, resource, current=None, have_current=False):
        if not have_current:
            current = self.current(resource)
        if current is None:
            return {'changed': False, 'diff': {'before': {}, 'after': {}}, 'resource': {}}
        result = {'changed': True, 'diff': {'before': {'id': current.get('id'), 'name': current.get('name')},
                                            'after': {}}, 'resource': {}}
        if not self.check_mode:
            if resource.delete is None:
                raise AzureOperationError('delete %s' % resource.label(), code='NotSupported',
                                          message='this resource cannot be deleted on its own',
                                          hint='delete its parent resource instead')
            self.write(lambda dummy: resource.delete(), None, 'delete %s' % resource.label())
        return result

    def write(self, call, body, asked):
        try:
            answer = call(body)
            return self.finish(answer, asked)
        except AzureOperationError:
            raise
        except Exception as exc:
            raise from_exception(exc, asked)

    def finish(self, answer, asked):
        """Wait for an LROPoller (or pass a plain answer through)."""
        if not (hasattr(answer, 'result') and hasattr(answer, 'done')):
            return answer
        if not self.wait:
            return None
        value = answer.result(timeout=self.wait_timeout)
        if not answer.done():
            raise AzureOperationError(asked, code='OperationTimedOut',
                                      message='still running after wait_timeout=%ss' % self.wait_timeout)
        return value


def _show(value):
    return repr(value) if value is not None else 'nothing'
