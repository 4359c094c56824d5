# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn Azure SDK exceptions into one clear message: what was asked, what ARM answered, what to do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# What to do next, by ARM error code (or by a short name for transport failures).
HINTS = {
    'AuthorizationFailed': 'grant the identity a role that allows this action on the scope '
                           '(for example Contributor on the resource group), then re-run',
    'AuthenticationFailed': 'check client_id, secret and tenant (or the managed identity) and authority_host',
    'InvalidAuthenticationToken': 'the token was refused: check tenant, cloud/arm_endpoint and authority_host',
    'ExpiredAuthenticationToken': 're-run; if it persists check the controller clock',
    'SubscriptionNotFound': 'check subscription_id (or AZURE_SUBSCRIPTION_ID) and that the identity can see it',
    'ResourceGroupNotFound': 'create the resource group first (medimaging.orthanc.azure_resource_group)',
    'ParentResourceNotFound': 'create the parent resource first (for example the workspace, server or account)',
    'InvalidResourceLocation': 'the resource already exists in another location: use that location '
                               'or delete it first',
    'LocationNotAvailableForResourceType': 'choose a location where this resource type is offered',
    'LocationNotAvailableForResourceGroup': 'use an Azure region name such as westeurope (az account list-locations)',
    'PasswordNotComplex': 'use 8-128 characters from three of: upper-case, lower-case, digits, symbols, '
                          'without the administrator login in it',
    'StorageAccountAlreadyTaken': 'storage account names are global: choose another name',
    'AccountNameInvalid': 'use 3-24 lower-case letters and digits',
    'ServerNameAlreadyExists': 'flexible server names are global: choose another name',
    'RoleAssignmentExists': 'the assignment already exists under another name; nothing to do',
    'PrincipalNotFound': 'the principal is new or in another tenant: wait a minute for replication and re-run',
    'InvalidTemplateDeployment': 'read the message above for the field ARM refused',
    'Conflict': 'another operation is running on this resource: wait for it and re-run',
    'AnotherOperationInProgress': 'another operation is running on this resource: wait for it and re-run',
    'OperationTimedOut': 'the operation is still running in Azure: re-run later or raise wait_timeout',
    'ServiceRequestError': 'could not reach the endpoint: check arm_endpoint/cloud, proxy and ca_bundle',
    'ClientAuthenticationError': 'no credential worked: set auth_source and its options '
                                 '(client_id/secret/tenant, AZURE_* variables, az login or a managed identity)',
    'CertificateNotTrusted': 'the TLS certificate of the authority or ARM endpoint is not signed by a CA in ca_bundle '
                             '(or REQUESTS_CA_BUNDLE): point ca_bundle at the PEM file of that CA; the credential '
                             'itself was never tried',
    'CaBundleUnreadable': 'ca_bundle (or REQUESTS_CA_BUNDLE) cannot be read as PEM certificates: fix the path or '
                          'the file',
    'AuthorityUnreachable': 'could not reach the authority (authority_host) to get a token: check the URL, the '
                            'network and proxy; the credential itself was never tried',
    'FederatedTokenExpired': 'the federated token (AZURE_FEDERATED_TOKEN_FILE) is expired or not yet valid: let the '
                             'cluster refresh the projected service-account token (or mint a new one) and check '
                             'the controller clock',
}

# A credential "failure" whose text shows another cause: that cause, not "no credential worked".
# (needle in the exception text, code); the first match wins.
AUTH_CAUSES = (
    ('CERTIFICATE_VERIFY_FAILED', 'CertificateNotTrusted'),
    ('certificate verify failed', 'CertificateNotTrusted'),
    ('Could not find a suitable TLS CA certificate bundle', 'CaBundleUnreadable'),
    ('NO_CERTIFICATE_OR_CRL_FOUND', 'CaBundleUnreadable'),
    ('AADSTS700024', 'FederatedTokenExpired'),
    ('Failed to establish a new connection', 'AuthorityUnreachable'),
    ('Name or service not known', 'AuthorityUnreachable'),
    ('Connection refused', 'AuthorityUnreachable'),
)

DEFAULT_HINT = 'fix the input named in the message, or check the Azure activity log for the request'


class AzureOperationError(Exception):
    """A failed Azure call, already phrased for a person.

    details holds the structured fields a module returns next to msg (never a secret).
    """

    def __init__(self, asked, code=None, message=None, status=None, hint=None):
        self.asked = asked
        self.code = code
        self.arm_message = message
        self.status = status
        self.hint = hint or HINTS.get(code or '', DEFAULT_HINT)
        super(AzureOperationError, self).__init__(self.text())

    def text(self):
        answered = ' '.join(str(p) for p in (self.status, self.code) if p)
        parts = ['Could not %s.' % self.asked]
        if answered or self.arm_message:
            parts.append('Azure answered %s: %s.' % (answered or 'an error', (self.arm_message or '').rstrip('.')))
        parts.append('What to do: %s.' % self.hint.rstrip('.'))
        return ' '.join(parts)

    def details(self):
        return {'error': {'asked': self.asked, 'code': self.code, 'status': self.status,
                          'message': self.arm_message, 'hint': self.hint}}


def from_exception(exc, asked):
    """Map any exception raised by azure-core, azure-identity or an SDK to AzureOperationError."""
    if isinstance(exc, AzureOperationError):
        return exc
    name = type(exc).__name__
    status = getattr(exc, 'status_code', None)
    if status is not None and status < 300:
        status = None  # a failed long-running operation: the poll itself answered 200
    code, message = _arm_error(exc)
    if name in ('ClientAuthenticationError', 'CredentialUnavailableError') and not code:
        code = _auth_cause(exc) or 'ClientAuthenticationError'
    elif name in ('ServiceRequestError', 'ServiceResponseError', 'ServiceRequestTimeoutError'):
        code = code or ('CertificateNotTrusted' if _auth_cause(exc) == 'CertificateNotTrusted' else 'ServiceRequestError')
    return AzureOperationError(asked, code=code, message=message or _first_line(exc), status=status)


def _auth_cause(exc):
    """The code of the real cause behind a credential error (TLS trust, reachability, an expired assertion)."""
    texts = []
    while exc is not None and len(texts) < 5:  # the exception and what it wraps
        texts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    text = ' '.join(texts)
    for needle, code in AUTH_CAUSES:
        if needle in text:
            return code
    return None


def _arm_error(exc):
    """(code, message) from an HttpResponseError's ARM error body, when there is one."""
    err = getattr(exc, 'error', None)
    code = getattr(err, 'code', None) if err is not None else None
    message = getattr(err, 'message', None) if err is not None else None
    if code is None:
        response = getattr(exc, 'response', None)
        try:
            body = response.json() if response is not None else None
        except Exception:  # not JSON: fall back to the exception text
            body = None
        if isinstance(body, dict):
            inner = body.get('error', body)
            if isinstance(inner, dict):
                code, message = inner.get('code'), inner.get('message')
    return code, message


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
