# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SDK clients built the same way for every module: endpoint, token scope, CA bundle, subscription.

The SDK imports are guarded so ansible-test's import sanity passes without the Azure SDKs; a module
calls missing_sdk() and fails with missing_required_lib() when one is absent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import build_credential

IMPORT_ERRORS = {}

try:
    from azure.core.exceptions import ResourceNotFoundError  # noqa: F401  pylint: disable=unused-import
    HAS_AZURE_CORE = True
except ImportError:
    HAS_AZURE_CORE = False
    IMPORT_ERRORS['azure-core'] = traceback.format_exc()

try:
    import azure.identity  # noqa: F401  pylint: disable=unused-import
except ImportError:
    IMPORT_ERRORS['azure-identity'] = traceback.format_exc()

# The service SDK each client comes from, and the PyPI name that installs it.
CLIENTS = {
    'resource': ('azure.mgmt.resource.resources', 'ResourceManagementClient', 'azure-mgmt-resource'),
    'healthcareapis': ('azure.mgmt.healthcareapis', 'HealthcareApisManagementClient', 'azure-mgmt-healthcareapis'),
    'storage': ('azure.mgmt.storage', 'StorageManagementClient', 'azure-mgmt-storage'),
    'postgresql_flexible': ('azure.mgmt.postgresqlflexibleservers', 'PostgreSQLManagementClient',
                            'azure-mgmt-postgresqlflexibleservers'),
    'authorization': ('azure.mgmt.authorization', 'AuthorizationManagementClient', 'azure-mgmt-authorization'),
    'msi': ('azure.mgmt.msi', 'ManagedServiceIdentityClient', 'azure-mgmt-msi'),
    'keyvault': ('azure.mgmt.keyvault', 'KeyVaultManagementClient', 'azure-mgmt-keyvault'),
    'network': ('azure.mgmt.network', 'NetworkManagementClient', 'azure-mgmt-network'),
    'privatedns': ('azure.mgmt.privatedns', 'PrivateDnsManagementClient', 'azure-mgmt-privatedns'),
    'containerservice': ('azure.mgmt.containerservice', 'ContainerServiceClient', 'azure-mgmt-containerservice'),
    'hybridkubernetes': ('azure.mgmt.hybridkubernetes', 'ConnectedKubernetesClient', 'azure-mgmt-hybridkubernetes'),
    'k8s_extensions': ('azure.mgmt.kubernetesconfiguration.extensions', 'KubernetesConfigurationExtensionsMgmtClient',
                       'azure-mgmt-kubernetesconfiguration-extensions'),
    'k8s_flux': ('azure.mgmt.kubernetesconfiguration.fluxconfigurations',
                 'KubernetesConfigurationFluxConfigurationsMgmtClient',
                 'azure-mgmt-kubernetesconfiguration-fluxconfigurations'),
    'policy': ('azure.mgmt.resource.policy', 'PolicyClient', 'azure-mgmt-resource-policy'),
    'appcontainers': ('azure.mgmt.appcontainers', 'ContainerAppsAPIClient', 'azure-mgmt-appcontainers'),
    'loganalytics': ('azure.mgmt.loganalytics', 'LogAnalyticsManagementClient', 'azure-mgmt-loganalytics'),
}


def _import_client(kind):
    import importlib
    module_name, class_name, dummy = CLIENTS[kind]
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        if kind == 'resource':  # azure-mgmt-resource < 24 exposed it at the package root
            return getattr(importlib.import_module('azure.mgmt.resource'), class_name)
        raise


def missing_sdk(*kinds):
    """(pypi_name, traceback) of the first missing SDK needed by a module, or None."""
    for name, trace in IMPORT_ERRORS.items():
        return name, trace
    for kind in kinds:
        try:
            _import_client(kind)
        except ImportError:
            return CLIENTS[kind][2], traceback.format_exc()
    return None


class AzureClients(object):
    """Lazily built SDK clients sharing one credential."""

    def __init__(self, settings, credential=None, **client_kwargs):
        self.settings = settings
        self._credential = credential
        self._client_kwargs = client_kwargs  # tests pass transport=...
        self._clients = {}

    @property
    def credential(self):
        if self._credential is None:
            self._credential = build_credential(self.settings)
        return self._credential

    def get(self, kind):
        if kind not in self._clients:
            client_class = _import_client(kind)
            kwargs = dict(self._client_kwargs)
            if self.settings.ca_bundle:
                kwargs.setdefault('connection_verify', self.settings.ca_bundle)
            self._clients[kind] = client_class(
                credential=self.credential,
                subscription_id=self.settings.subscription_id,
                base_url=self.settings.arm_endpoint,
                credential_scopes=[self.settings.scope],
                **kwargs)
        return self._clients[kind]

    @property
    def subscription_id(self):
        return self.settings.subscription_id
