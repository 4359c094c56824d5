# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft Graph v1.0 for the Entra ID modules: one small JSON client over requests with an azure-identity
credential (the same auth options as the ARM modules) and the scope <graph>/.default.

Errors become AzureOperationError (what was asked, what Graph answered, what to do), like ARM's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import (
    AZURE_CREDENTIAL_ARGUMENT_SPEC, AuthConfigError, build_credential, resolve_auth)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError

# Graph's host per cloud; the token audience is the same host (a lab or proxy may serve it elsewhere: graph_endpoint).
GRAPH_HOSTS = {
    'AzureCloud': 'https://graph.microsoft.com',
    'AzureChinaCloud': 'https://microsoftgraph.chinacloudapi.cn',
    'AzureUSGovernment': 'https://graph.microsoft.us',
}

# The credential options of the Azure modules (no subscription: Graph is per tenant) and graph_endpoint;
# documented by the azure_auth.credential and azure_graph fragments.
GRAPH_ARGUMENT_SPEC = dict(AZURE_CREDENTIAL_ARGUMENT_SPEC, graph_endpoint=dict(type='str'))

HINTS = {
    401: 'check the credentials (client id, secret, tenant) of the identity running the task',
    403: 'the identity running the task needs the Graph application permission Application.ReadWrite.All '
         '(or the Application Administrator role)',
}

# Entra ID replicates a new object for a few seconds: a write that names it may meanwhile be answered as if it did
# not exist (service principal of a new app, addPassword on a new app). Such writes are retried (as az ad does).
REPLICATION_RETRIES = 6
REPLICATION_DELAY = 5.0
SLEEP = time.sleep
# Tests inject a requests.Session (mounted on a fake Graph) and a credential here; modules never set them.
SESSION_FACTORY = None
CREDENTIAL_FACTORY = None


class GraphClient(object):
    def __init__(self, settings, graph_endpoint=None, cloud='AzureCloud', credential=None, session=None):
        self.settings = settings
        audience = GRAPH_HOSTS[cloud]
        base = (graph_endpoint or os.environ.get('AZURE_GRAPH_ENDPOINT') or audience).rstrip('/')
        self.base = base if base.endswith('/v1.0') else base + '/v1.0'
        self.scope = audience + '/.default'
        self._credential = credential
        self._session = session

    def _token(self):
        if self._credential is None:
            self._credential = (CREDENTIAL_FACTORY or build_credential)(self.settings)
        return self._credential.get_token(self.scope).token

    def _http(self):
        if self._session is None:
            if SESSION_FACTORY is not None:
                self._session = SESSION_FACTORY()
            else:
                import requests
                self._session = requests.Session()
        return self._session

    def call(self, method, path, asked, body=None, params=None, new_object=False):
        """The JSON answer (None for 204) or AzureOperationError. new_object: the call names an object made moments
        ago; a 404 or a 400 saying it does not exist is retried while Entra ID replicates it."""
        attempts = 0
        while True:
            try:
                return self._call_once(method, path, asked, body, params)
            except AzureOperationError as exc:
                attempts += 1
                missing = exc.status == 404 or (exc.status == 400 and 'does not reference a valid' in (
                    exc.arm_message or ''))
                if not (new_object and missing) or attempts >= REPLICATION_RETRIES:
                    raise
            SLEEP(REPLICATION_DELAY)

    def _call_once(self, method, path, asked, body, params):
        try:
            token = self._token()
            answer = self._http().request(
                method, self.base + path, json=body, params=params, timeout=60,
                headers={'Authorization': 'Bearer ' + token, 'Accept': 'application/json'},
                verify=self.settings.ca_bundle or True)
        except AzureOperationError:
            raise
        except Exception as exc:  # credential or connection failures
            from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import from_exception
            raise from_exception(exc, asked)
        if answer.status_code >= 400:
            code, message = None, answer.text[:300]
            try:
                error = answer.json().get('error') or {}
                code, message = error.get('code'), error.get('message')
            except ValueError:
                pass
            raise AzureOperationError(asked, code=code, message=message, status=answer.status_code,
                                      hint=HINTS.get(answer.status_code))
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    def find(self, collection, key, value, asked):
        """Objects of collection whose key equals value ($filter; quotes doubled as OData wants)."""
        answer = self.call('GET', '/' + collection, asked,
                           params={'$filter': "%s eq '%s'" % (key, value.replace("'", "''"))})
        return (answer or {}).get('value') or []

    def find_one(self, collection, key, value, label):
        found = self.find(collection, key, value, 'find %s %r' % (label, value))
        if len(found) > 1:
            raise AzureOperationError(
                'find %s %r' % (label, value), code='AmbiguousName',
                message='%d objects have %s %r' % (len(found), key, value),
                hint='rename or delete the extra ones in Entra ID so the name points at one object')
        return found[0] if found else None


def graph_module(argument_spec, **kwargs):
    """AnsibleModule with the credential options and graph_endpoint, check mode on."""
    from ansible.module_utils.basic import AnsibleModule
    spec = dict(GRAPH_ARGUMENT_SPEC)
    spec.update(argument_spec)
    return AnsibleModule(argument_spec=spec, supports_check_mode=True, **kwargs)


def graph_for(module):
    params = module.params
    try:
        settings = resolve_auth(params, subscription=False)
    except AuthConfigError as exc:
        module.fail_json(msg='Azure authentication is not configured: %s' % exc)
    return GraphClient(settings, graph_endpoint=params.get('graph_endpoint'), cloud=params.get('cloud') or 'AzureCloud')


def run_or_fail(module, step):
    """step() -> result dict for exit_json; an AzureOperationError fails the module with its details."""
    try:
        result = step()
    except AzureOperationError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)
