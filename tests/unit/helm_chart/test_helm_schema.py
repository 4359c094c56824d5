"""Bad values are refused before anything is rendered, with a message naming the value (values.schema.json for
single values, the chart's own checks for rules across values). helm lint --strict passes every values file."""
import os

import pytest

from helm_chart_render import CHART, CLOUD_FILES, REQUIRED, HelmError, helm, render

KV = {"enabled": True, "vaultName": "pacs-kv", "tenantId": "t", "clientId": "c"}


@pytest.mark.parametrize("values, message", [
    # values.schema.json
    ({"image": {"tag": "latest"}}, "at '/image/tag': 'latest' does not match pattern"),
    ({"image": {"tag": ""}}, "at '/image/tag': '' does not match pattern"),
    ({"image": {"digest": "sha256:abc"}}, "at '/image/digest'"),
    ({"orthanc": {"dicomAet": "A TITLE LONGER THAN 16"}}, "at '/orthanc/dicomAet'"),
    ({"orthanc": {"dicomAet": " LEADING"}}, "at '/orthanc/dicomAet'"),
    ({"orthanc": {"httpPort": 70000}}, "at '/orthanc/httpPort': maximum: got 70,000, want 65,535"),
    ({"orthanc": {"authenticationEnabled": "yes"}}, "at '/orthanc/authenticationEnabled': got string, want boolean"),
    ({"replicaCount": -1}, "at '/replicaCount'"),
    ({"database": {"mode": "mysql"}}, "at '/database/mode': value must be one of 'external', 'inCluster', 'sqlite'"),
    ({"database": {"external": {"sslMode": "prefer"}}}, "at '/database/external/sslMode': value must be one of"),
    ({"oauthPlugin": {"servers": {"bad name!": {"url": "https://x/", "authentication": {"type": "static"}}}}},
     "invalid propertyName 'bad name!'"),
    ({"oauthPlugin": {"servers": {"s": {"url": "http://dicom.example.org/", "authentication": {"type": "static"}}}}},
     "at '/oauthPlugin/servers/s/url'"),
    ({"oauthPlugin": {"servers": {"s": {"url": "https://x/", "authentication": {"type": "password"}}}}},
     "at '/oauthPlugin/servers/s/authentication/type': value must be one of 'client-credentials', "
     "'workload-identity', 'managed-identity', 'static'"),
    ({"oauthPlugin": {"servers": {"s": {"url": "https://x/", "authentication": {
        "type": "static", "staticToken": {"secretName": "a"}}}}}}, "at '/oauthPlugin/servers/s/authentication/staticToken'"),
    ({"networkPolicy": {"egress": {"allow": [{"cidr": "pacs.example.org"}]}}},
     "at '/networkPolicy/egress/allow/0/cidr'"),
    ({"route": {"termination": "passthrough"}}, "at '/route/termination': value must be one of 'edge', 'reencrypt'"),
    ({"resources": {"limits": {"memory": None}}}, "at '/resources/limits': missing property 'memory'"),
    ({"containerSecurityContext": {"allowPrivilegeEscalation": True}},
     "at '/containerSecurityContext/allowPrivilegeEscalation': value must be false"),
    ({"containerSecurityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
     "at '/containerSecurityContext/capabilities/add'"),
    ({"dicom": {"service": {"type": "ExternalName"}}}, "at '/dicom/service/type'"),
    ({"dicom": {"service": {"nodePort": 80}}}, "at '/dicom/service/nodePort': minimum"),
    ({"storage": {"persistence": {"size": "100GB"}}}, "at '/storage/persistence/size'"),
    ({"replicas": 2}, "additional properties 'replicas' not allowed"),
    ({"orthanc": {"dicomAET": "X"}}, "at '/orthanc': additional properties 'dicomAET' not allowed"),
    # the chart's checks across values
    ({"auth": {"existingSecret": ""}}, "auth: orthanc.authenticationEnabled is true but no users are given"),
    ({"database": {"external": {"host": ""}}}, "database.external.host is required with database.mode external"),
    ({"database": {"external": {"credentialsSecret": {"name": ""}}}}, "database.external: give credentialsSecret.name"),
    ({"database": {"mode": "inCluster"}}, "database.inCluster.credentialsSecret.name is required"),
    ({"replicaCount": 2}, "replicaCount > 1 or autoscaling needs shared storage"),
    ({"replicaCount": 2, "database": {"mode": "sqlite"}}, "replicaCount > 1 or autoscaling needs PostgreSQL"),
    ({"autoscaling": {"enabled": True}, "database": {"mode": "sqlite"}}, "needs PostgreSQL"),
    ({"oauthPlugin": {"enabled": True}}, "oauthPlugin.enabled needs at least one server"),
    ({"oauthPlugin": {"enabled": True, "servers": {"s": {"url": "https://x/", "authentication": {
        "type": "client-credentials", "clientId": "a"}}}}},
     "oauthPlugin.servers.s: client-credentials needs authentication.tokenEndpoint, clientId and clientSecret"),
    ({"oauthPlugin": {"enabled": True, "servers": {"s": {"url": "https://x/", "authentication": {
        "type": "workload-identity"}}}}}, "oauthPlugin.servers.s: workload-identity needs workloadIdentity.enabled"),
    ({"oauthPlugin": {"enabled": True, "servers": {"s": {"url": "https://x/", "authentication": {"type": "static"}}}}},
     "oauthPlugin.servers.s: static needs authentication.staticToken"),
    ({"auth": {"existingSecret": "", "keyVaultObject": "users"}},
     "secret registered-users names Key Vault object users but secrets.azureKeyVault.enabled is false"),
    ({"secrets": {"azureKeyVault": {"enabled": True, "vaultName": "pacs-kv"}}},
     "secrets.azureKeyVault needs vaultName, tenantId and clientId"),
    ({"workloadIdentity": {"enabled": True}}, "workloadIdentity.enabled needs workloadIdentity.clientId"),
    ({"dicom": {"tls": {"enabled": True}}}, "dicom.tls.enabled needs dicom.tls.certificate, privateKey"),
    ({"monitoring": {"serviceMonitor": {"enabled": True}}}, "monitoring.serviceMonitor needs basicAuthSecret.name"),
])
def test_bad_values_are_refused_with_a_message(values, message):
    with pytest.raises(HelmError) as refused:
        render(values)
    assert message in str(refused.value)


def test_key_vault_reference_accepted_once_the_vault_is_on():
    assert render({"auth": {"existingSecret": "", "keyVaultObject": "users"}, "secrets": {"azureKeyVault": KV}})


@pytest.mark.parametrize("values_file", (None,) + CLOUD_FILES)
def test_helm_lint_strict(values_file, tmp_path):
    args = ["lint", "--strict", CHART]
    if values_file:
        args += ["-f", os.path.join(CHART, values_file)]
    else:  # values.yaml alone names no database or users secret on purpose: give what every install gives
        required = tmp_path / "required.yaml"
        required.write_text(repr(REQUIRED).replace("'", '"'))
        args += ["-f", str(required)]
    assert "1 chart(s) linted, 0 chart(s) failed" in helm(*args)
