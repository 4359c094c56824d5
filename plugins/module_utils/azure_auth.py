# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One place that turns the common auth options into an azure-identity credential.

resolve_auth() is pure (params + environment -> AuthSettings) so it is unit tested without Azure;
build_credential() is the only function here that touches azure-identity.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

try:
    from configparser import ConfigParser
except ImportError:  # pragma: no cover - Python 2 is not supported, keep sanity's import test quiet
    ConfigParser = None

# Public clouds: ARM endpoint, Entra ID authority and the token audience for ARM.
CLOUDS = {
    'AzureCloud': {
        'arm_endpoint': 'https://management.azure.com',
        'authority_host': 'https://login.microsoftonline.com',
        'arm_audience': 'https://management.azure.com',
    },
    'AzureChinaCloud': {
        'arm_endpoint': 'https://management.chinacloudapi.cn',
        'authority_host': 'https://login.chinacloudapi.cn',
        'arm_audience': 'https://management.chinacloudapi.cn',
    },
    'AzureUSGovernment': {
        'arm_endpoint': 'https://management.usgovcloudapi.net',
        'authority_host': 'https://login.microsoftonline.us',
        'arm_audience': 'https://management.usgovcloudapi.net',
    },
}

AUTH_SOURCES = ['auto', 'env', 'cli', 'msi', 'credential_file']

# The credential options, documented once in doc_fragments/azure_auth.py (its credential fragment): what a module
# that reaches a data plane (Blob) needs, without a subscription.
AZURE_CREDENTIAL_ARGUMENT_SPEC = dict(
    auth_source=dict(type='str', default='auto', choices=AUTH_SOURCES),
    tenant=dict(type='str'),
    client_id=dict(type='str'),
    secret=dict(type='str', no_log=True),
    cloud=dict(type='str', default='AzureCloud', choices=sorted(CLOUDS)),
    authority_host=dict(type='str'),
    ca_bundle=dict(type='path'),
    credential_file=dict(type='path'),
    profile=dict(type='str', default='default'),
)
# Shared by every Azure Resource Manager module; documented once in doc_fragments/azure_auth.py.
AZURE_AUTH_ARGUMENT_SPEC = dict(
    AZURE_CREDENTIAL_ARGUMENT_SPEC,
    subscription_id=dict(type='str'),
    arm_endpoint=dict(type='str'),
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=1800),
)

DEFAULT_CREDENTIAL_FILE = '~/.azure/credentials'


class AuthConfigError(ValueError):
    """The auth options cannot work together; the text says which option to set."""


class AuthSettings(object):
    """Everything needed to build a credential and clients. repr never shows the secret."""

    def __init__(self, source, subscription_id, tenant, client_id, secret, arm_endpoint,
                 authority_host, arm_audience, ca_bundle, custom_authority, federated_token_file=None):
        self.source = source
        self.subscription_id = subscription_id
        self.tenant = tenant
        self.client_id = client_id
        self.secret = secret
        self.arm_endpoint = arm_endpoint
        self.authority_host = authority_host
        self.arm_audience = arm_audience
        self.ca_bundle = ca_bundle
        self.custom_authority = custom_authority
        self.federated_token_file = federated_token_file

    @property
    def scope(self):
        return self.arm_audience.rstrip('/') + '/.default'

    def __repr__(self):
        return ('AuthSettings(source=%r, subscription_id=%r, tenant=%r, client_id=%r, secret=%s, '
                'arm_endpoint=%r, authority_host=%r)' % (
                    self.source, self.subscription_id, self.tenant, self.client_id,
                    '***' if self.secret else None, self.arm_endpoint, self.authority_host))


def _first(*values):
    for value in values:
        if value:
            return value
    return None


def read_credential_file(path, profile):
    """Read an azcollection-style INI file ([profile] subscription_id, client_id, secret, tenant)."""
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise AuthConfigError('credential_file %s does not exist: create it or choose another auth_source' % path)
    parser = ConfigParser()
    parser.read(path)
    if not parser.has_section(profile):
        raise AuthConfigError('profile [%s] is not in %s: add it or set profile' % (profile, path))
    return dict(parser.items(profile))


def check_ca_bundle(path, option):
    """A CA bundle that is missing, unreadable or holds no PEM certificate fails here, naming the path; later it
    would only show as a failed token request ("no credential worked")."""
    full = os.path.expanduser(path)
    if not os.path.isfile(full):
        raise AuthConfigError('%s %s does not exist or is not a file: point it at a PEM file of trusted CAs'
                              % (option, path))
    try:
        with open(full, 'rb') as handle:
            content = handle.read()
    except (IOError, OSError) as err:
        raise AuthConfigError('%s %s cannot be read (%s): fix its permissions or point it at another PEM file'
                              % (option, path, getattr(err, 'strerror', None) or err))
    if b'-----BEGIN CERTIFICATE-----' not in content:
        raise AuthConfigError('%s %s holds no PEM certificate (-----BEGIN CERTIFICATE-----): point it at the PEM file '
                              'of the CA that signed the endpoints' % (option, path))


def resolve_auth(params, environ=None, subscription=True):
    """Combine module params, AZURE_* environment variables and the credential file into AuthSettings.

    subscription=False: a data-plane credential (Blob), for which no subscription is needed nor asked.
    """
    env = os.environ if environ is None else environ
    source = params.get('auth_source') or 'auto'
    cloud = CLOUDS[params.get('cloud') or 'AzureCloud']

    file_values = {}
    file_path = params.get('credential_file') or env.get('AZURE_CREDENTIAL_FILE')
    if source == 'credential_file':
        file_values = read_credential_file(file_path or DEFAULT_CREDENTIAL_FILE, params.get('profile') or 'default')
    elif source == 'auto' and os.path.isfile(os.path.expanduser(file_path or DEFAULT_CREDENTIAL_FILE)) \
            and not (params.get('secret') or env.get('AZURE_CLIENT_SECRET')):
        try:
            file_values = read_credential_file(file_path or DEFAULT_CREDENTIAL_FILE, params.get('profile') or 'default')
        except AuthConfigError:
            file_values = {}

    use_env = source in ('auto', 'env')
    subscription_id = _first(params.get('subscription_id'), file_values.get('subscription_id'),
                             env.get('AZURE_SUBSCRIPTION_ID'))
    tenant = _first(params.get('tenant'), file_values.get('tenant'), use_env and env.get('AZURE_TENANT_ID'))
    client_id = _first(params.get('client_id'), file_values.get('client_id'), env.get('AZURE_CLIENT_ID'))
    secret = _first(params.get('secret'), file_values.get('secret'), use_env and env.get('AZURE_CLIENT_SECRET'))
    explicit_authority = _first(params.get('authority_host'), env.get('AZURE_AUTHORITY_HOST'))
    arm_endpoint = _first(params.get('arm_endpoint'), env.get('AZURE_ARM_ENDPOINT'), cloud['arm_endpoint'])
    ca_bundle = _first(params.get('ca_bundle'), env.get('REQUESTS_CA_BUNDLE'))
    federated = env.get('AZURE_FEDERATED_TOKEN_FILE') if use_env else None

    if subscription and not subscription_id:
        raise AuthConfigError('no subscription: set subscription_id or the AZURE_SUBSCRIPTION_ID variable')
    for name, url in (('arm_endpoint', arm_endpoint), ('authority_host', explicit_authority)):
        if url and not url.lower().startswith('https://'):
            raise AuthConfigError('%s must be an https:// URL (Azure refuses bearer tokens over http), got %s'
                                  % (name, url))
    if source == 'env' and not (secret or federated):
        raise AuthConfigError('auth_source=env needs AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID '
                              '(or AZURE_FEDERATED_TOKEN_FILE); none were found')
    if secret and not (client_id and tenant):
        raise AuthConfigError('a client secret needs client_id and tenant too (or AZURE_CLIENT_ID and AZURE_TENANT_ID)')
    if ca_bundle:
        check_ca_bundle(ca_bundle, 'ca_bundle' if params.get('ca_bundle') else 'REQUESTS_CA_BUNDLE')

    return AuthSettings(
        source=source, subscription_id=subscription_id, tenant=tenant, client_id=client_id, secret=secret,
        arm_endpoint=arm_endpoint.rstrip('/'),
        authority_host=(explicit_authority or cloud['authority_host']).rstrip('/'),
        arm_audience=cloud['arm_audience'], ca_bundle=os.path.expanduser(ca_bundle) if ca_bundle else None,
        custom_authority=bool(explicit_authority), federated_token_file=federated)


def _transport_kwargs(settings):
    return {'connection_verify': settings.ca_bundle} if settings.ca_bundle else {}


def build_credential(settings):
    """An azure-identity credential for settings (imports azure-identity lazily)."""
    from azure.identity import (AzureCliCredential, ChainedTokenCredential, ClientSecretCredential,
                                ManagedIdentityCredential, WorkloadIdentityCredential)

    common = dict(_transport_kwargs(settings))
    # A non-Microsoft authority (sovereign stack, the lab) has no instance-discovery endpoint:
    # without this flag MSAL asks login.microsoftonline.com for minutes before failing.
    identity_kwargs = dict(common, authority=settings.authority_host,
                           disable_instance_discovery=settings.custom_authority)
    source = settings.source

    if source in ('auto', 'env', 'credential_file') and settings.secret:
        return ClientSecretCredential(settings.tenant, settings.client_id, settings.secret, **identity_kwargs)
    if source in ('auto', 'env') and settings.federated_token_file and settings.client_id and settings.tenant:
        return WorkloadIdentityCredential(tenant_id=settings.tenant, client_id=settings.client_id,
                                          token_file_path=settings.federated_token_file, **identity_kwargs)
    if source == 'msi':
        return ManagedIdentityCredential(client_id=settings.client_id, **common)
    if source == 'cli':
        return AzureCliCredential(tenant_id=settings.tenant or '')
    if source == 'auto':
        # No secret anywhere: a managed identity (VM, Container Apps, AKS) or az login on the controller.
        return ChainedTokenCredential(ManagedIdentityCredential(client_id=settings.client_id, **common),
                                      AzureCliCredential(tenant_id=settings.tenant or ''))
    raise AuthConfigError('auth_source=%s found no credential: set client_id, secret and tenant' % source)
