"""What each value of files/helm/orthanc does, read from real `helm template` output."""
import pytest

from helm_chart_render import CLOUD_FILES, FULLNAME, render

SECRETS = "/run/medimaging/secrets/"
KEYVAULT = "/run/medimaging/keyvault/"


# ---- secure defaults -------------------------------------------------------------------------------------------

def test_pod_runs_locked_down_by_default():
    docs = render()
    pod, container = docs.pod["spec"], docs.container
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert docs.get("ServiceAccount")["automountServiceAccountToken"] is False
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["readOnlyRootFilesystem"] is True and context["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}


def test_writable_paths_are_volumes_and_root_is_read_only():
    docs = render()
    mounts = {m["mountPath"]: m for m in docs.container["volumeMounts"]}
    assert docs.volume("tmp")["emptyDir"]["medium"] == "Memory"  # the entrypoint's /tmp/orthanc (passwords)
    assert mounts["/etc/orthanc"]["readOnly"] is True
    assert docs.volume("storage")["persistentVolumeClaim"]["claimName"] == FULLNAME
    assert set(mounts) == {"/etc/orthanc", "/tmp", "/var/lib/orthanc/db", "/run/medimaging/secrets"}


@pytest.mark.parametrize("probe, argument", [("startupProbe", "ready"), ("readinessProbe", "ready"),
                                              ("livenessProbe", "live")])
def test_probes_run_the_images_probe_command(probe, argument):
    assert render().container[probe]["exec"]["command"] == ["medimaging-probe", argument]


def test_authentication_on_and_no_secret_value_in_the_pod_spec_or_config():
    docs = render()
    assert docs.config["AuthenticationEnabled"] is True and "RegisteredUsers" not in docs.config
    # Every secret is a file path for the entrypoint (<VARIABLE>_SECRET), never a value.
    assert docs.env == {"ORTHANC__REGISTERED_USERS_SECRET": SECRETS + "registered-users",
                        "ORTHANC__POSTGRESQL__USERNAME_SECRET": SECRETS + "postgresql-username",
                        "ORTHANC__POSTGRESQL__PASSWORD_SECRET": SECRETS + "postgresql-password"}
    sources = docs.volume("secrets")["projected"]["sources"]
    assert [s["secret"]["name"] for s in sources] == ["orthanc-users", "orthanc-db", "orthanc-db"]
    assert docs.volume("secrets")["projected"]["defaultMode"] == 0o440
    assert not docs.has("Secret")


def test_authentication_off_needs_no_users_secret():
    docs = render({"orthanc": {"authenticationEnabled": False}, "auth": {"existingSecret": ""}})
    assert docs.config["AuthenticationEnabled"] is False
    assert "ORTHANC__REGISTERED_USERS_SECRET" not in docs.env


# ---- image ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("image, expected", [
    ({"tag": "1.2.3"}, "registry.example.org/medimaging/orthanc:1.2.3"),
    ({"digest": "sha256:" + "a" * 64}, "registry.example.org/medimaging/orthanc@sha256:" + "a" * 64),
    ({"repository": "acr.example.io/pacs", "tag": "25.7.0-1"}, "acr.example.io/pacs:25.7.0-1"),
])
def test_image_reference(image, expected):
    assert render({"image": image}).container["image"] == expected


# ---- replicas, HPA, PDB, strategy ---------------------------------------------------------------------------------

def test_one_replica_on_a_read_write_once_volume_recreates_and_has_no_budget():
    docs = render()
    assert docs.get("Deployment")["spec"]["strategy"] == {"type": "Recreate"}
    assert docs.get("Deployment")["spec"]["replicas"] == 1
    assert not docs.has("PodDisruptionBudget")


SHARED = {"storage": {"persistence": {"accessModes": ["ReadWriteMany"]}}}


def test_replicas_share_storage_roll_and_get_a_budget():
    docs = render(dict(SHARED, replicaCount=3))
    spec = docs.get("Deployment")["spec"]
    assert spec["replicas"] == 3 and spec["strategy"]["type"] == "RollingUpdate"
    assert docs.get("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    assert docs.get("PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteMany"]
    assert docs.config["PostgreSQL"]["Lock"] is False


def test_autoscaling_renders_an_hpa_and_leaves_replicas_to_it():
    docs = render(dict(SHARED, autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 6,
                                            "targetCPUUtilizationPercentage": 60}))
    hpa = docs.get("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert "replicas" not in docs.get("Deployment")["spec"]
    assert docs.has("PodDisruptionBudget")


# ---- database ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ssl_mode, enable_ssl", [("require", True), ("disable", False)])
def test_external_database(ssl_mode, enable_ssl):
    pg = render({"database": {"external": {"port": 6432, "database": "pacs", "sslMode": ssl_mode}}}).config["PostgreSQL"]
    assert pg == {"EnableIndex": True, "EnableStorage": False, "Host": "db.example.org", "Port": 6432,
                  "Database": "pacs", "EnableSsl": enable_ssl, "Lock": False, "MaximumConnectionRetries": 10,
                  "ConnectionRetryInterval": 5}


def test_in_cluster_postgresql_statefulset_with_its_volume_and_policy():
    docs = render({"database": {"mode": "inCluster", "inCluster": {"credentialsSecret": {"name": "pg-cred"},
                                                                    "image": {"tag": "17.6"}}}})
    name = FULLNAME + "-postgresql"
    sts = docs.get("StatefulSet", name)["spec"]
    container = sts["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/library/postgres:17.6"
    assert sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert {e["name"]: e["value"] for e in container["env"]}["POSTGRES_PASSWORD_FILE"] == SECRETS + "password"
    assert sts["template"]["spec"]["volumes"][-1]["secret"]["secretName"] == "pg-cred"
    assert docs.config["PostgreSQL"]["Host"] == name and docs.config["PostgreSQL"]["EnableSsl"] is False
    assert docs.get("Service", name)["spec"]["selector"]["app.kubernetes.io/component"] == "postgresql"
    policy = docs.get("NetworkPolicy", name)["spec"]
    assert policy["egress"] == [] and policy["ingress"][0]["from"][0]["podSelector"]["matchLabels"][
        "app.kubernetes.io/component"] == "pacs"
    orthanc_egress = docs.get("NetworkPolicy")["spec"]["egress"]
    assert any(rule.get("ports") == [{"port": 5432, "protocol": "TCP"}] and "podSelector" in rule["to"][0]
               for rule in orthanc_egress)


def test_orthanc_services_do_not_select_the_database_pod():
    docs = render({"database": {"mode": "inCluster", "inCluster": {"credentialsSecret": {"name": "pg"}}}})
    for name in (FULLNAME, FULLNAME + "-dicom"):
        assert docs.get("Service", name)["spec"]["selector"]["app.kubernetes.io/component"] == "pacs"


def test_sqlite_mode_has_no_postgresql():
    docs = render({"database": {"mode": "sqlite"}})
    assert "PostgreSQL" not in docs.config
    assert not any(name.startswith("ORTHANC__POSTGRESQL") for name in docs.env)


# ---- storage ------------------------------------------------------------------------------------------------------

def test_object_storage_section_is_passed_through_and_no_claim_without_persistence():
    docs = render({"storage": {"persistence": {"enabled": False}, "objectStorage": {
        "enabled": True, "section": "MedimagingStorage", "settings": {"Type": "s3", "Bucket": "b"}}}})
    assert docs.config["MedimagingStorage"] == {"Type": "s3", "Bucket": "b"}
    assert not docs.has("PersistentVolumeClaim")
    assert docs.volume("storage") == {"name": "storage", "emptyDir": {}}


def test_existing_claim_is_used_and_none_created():
    docs = render({"storage": {"persistence": {"existingClaim": "pacs-images"}}})
    assert docs.volume("storage")["persistentVolumeClaim"]["claimName"] == "pacs-images"
    assert not docs.has("PersistentVolumeClaim")


def test_claim_survives_uninstall():
    assert render().get("PersistentVolumeClaim")["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


# ---- OAuth plugin ---------------------------------------------------------------------------------------------------

OAUTH = {
    "cc": {"url": "https://dicom.example.org/v2/", "authentication": {
        "type": "client-credentials", "tokenEndpoint": "https://login.example.org/t/oauth2/v2.0/token",
        "clientId": "app", "scope": "https://dicom.healthcareapis.azure.com/.default",
        "clientSecret": {"secretName": "dicom-client", "key": "secret"}}},
    "wi": {"url": "https://wi.example.org/v2/", "authentication": {"type": "workload-identity"}},
    "mi": {"url": "https://mi.example.org/v2/", "authentication": {"type": "managed-identity", "clientId": "uami"}},
    "st": {"url": "https://st.example.org/", "authentication": {
        "type": "static", "staticToken": {"secretName": "gw", "key": "token"}}, "options": {"ServerOptions": {
            "HasDelete": False}}},
}
WI = {"workloadIdentity": {"enabled": True, "clientId": "11111111-2222-3333-4444-555555555555"}}


@pytest.mark.parametrize("name, expected", [
    ("cc", {"Url": "https://dicom.example.org/v2/", "Provider": "client_credentials",
            "TokenEndpoint": "https://login.example.org/t/oauth2/v2.0/token", "ClientId": "app",
            "Scope": "https://dicom.healthcareapis.azure.com/.default",
            "ClientSecretFile": SECRETS + "oauth-cc-client-secret"}),
    ("wi", {"Url": "https://wi.example.org/v2/", "Provider": "workload_identity"}),
    ("mi", {"Url": "https://mi.example.org/v2/", "Provider": "managed_identity", "ClientId": "uami"}),
    ("st", {"Url": "https://st.example.org/", "Provider": "static", "StaticTokenFile": SECRETS + "oauth-st-static-token",
            "ServerOptions": {"HasDelete": False}}),
])
def test_oauth_server_per_authentication_type(name, expected):
    docs = render(dict(WI, oauthPlugin={"enabled": True, "settings": {"RefreshMarginSeconds": 120}, "servers": OAUTH}))
    assert docs.config["DicomWebOAuth"]["Servers"][name] == expected
    assert docs.config["DicomWebOAuth"]["RefreshMarginSeconds"] == 120


def test_oauth_secrets_are_projected_files():
    docs = render(dict(WI, oauthPlugin={"enabled": True, "servers": OAUTH}))
    items = {s["secret"]["items"][0]["path"]: (s["secret"]["name"], s["secret"]["items"][0]["key"])
             for s in docs.volume("secrets")["projected"]["sources"]}
    assert items["oauth-cc-client-secret"] == ("dicom-client", "secret")
    assert items["oauth-st-static-token"] == ("gw", "token")


def test_oauth_off_writes_no_section():
    assert "DicomWebOAuth" not in render({"oauthPlugin": {"servers": OAUTH}}).config


# ---- workload identity, service account, Key Vault -------------------------------------------------------------------

def test_workload_identity_lands_as_a_pod_label_and_sa_annotation():
    docs = render(dict(WI, serviceAccount={"annotations": {"team": "imaging"}}))
    metadata = docs.pod["metadata"]
    assert metadata["labels"]["azure.workload.identity/use"] == "true"  # the webhook matches the LABEL
    assert "azure.workload.identity/use" not in metadata.get("annotations", {})
    annotations = docs.get("ServiceAccount")["metadata"]["annotations"]
    assert annotations["azure.workload.identity/client-id"] == WI["workloadIdentity"]["clientId"]
    assert annotations["team"] == "imaging"
    assert docs.pod["spec"]["serviceAccountName"] == FULLNAME
    # The webhook projects its own token volume: the API token stays unmounted.
    assert docs.pod["spec"]["automountServiceAccountToken"] is False


def test_no_workload_identity_label_by_default():
    assert "azure.workload.identity/use" not in render().pod["metadata"]["labels"]


@pytest.mark.parametrize("annotation", [{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"},
                                        {"iam.gke.io/gcp-service-account": "sa@p.iam.gserviceaccount.com"}])
def test_cloud_identity_annotations_on_the_service_account(annotation):
    docs = render({"serviceAccount": {"annotations": annotation}})
    assert annotation.items() <= docs.get("ServiceAccount")["metadata"]["annotations"].items()


def test_existing_service_account_is_used_not_created():
    docs = render({"serviceAccount": {"create": False, "name": "pacs-sa"}})
    assert not docs.has("ServiceAccount") and docs.pod["spec"]["serviceAccountName"] == "pacs-sa"


def test_key_vault_secrets_through_the_csi_driver():
    docs = render(dict(WI, auth={"existingSecret": "", "keyVaultObject": "orthanc-users"},
                       database={"external": {"credentialsSecret": {"name": ""}, "credentialsKeyVault": {
                           "usernameObject": "db-user", "passwordObject": "db-password"}}},
                       secrets={"azureKeyVault": {"enabled": True, "vaultName": "pacs-kv", "tenantId": "t"}}))
    spc = docs.get("SecretProviderClass")["spec"]
    assert spc["provider"] == "azure" and spc["parameters"]["usePodIdentity"] == "false"
    assert spc["parameters"]["clientID"] == WI["workloadIdentity"]["clientId"]
    assert spc["parameters"]["keyvaultName"] == "pacs-kv"
    objects = spc["parameters"]["objects"]
    for alias, name in (("registered-users", "orthanc-users"), ("postgresql-password", "db-password")):
        assert "objectAlias: %s\n" % alias in objects and "objectName: %s\n" % name in objects
    assert docs.volume("keyvault")["csi"] == {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                                              "volumeAttributes": {"secretProviderClass": FULLNAME}}
    assert docs.env["ORTHANC__POSTGRESQL__PASSWORD_SECRET"] == KEYVAULT + "postgresql-password"
    assert not any(v["name"] == "secrets" for v in docs.pod["spec"]["volumes"])


def test_pod_labels_and_annotations():
    docs = render({"podLabels": {"cost-centre": "radiology"}, "podAnnotations": {"example.org/x": "y"}})
    assert docs.pod["metadata"]["labels"]["cost-centre"] == "radiology"
    assert docs.pod["metadata"]["annotations"]["example.org/x"] == "y"
    assert "checksum/config" in docs.pod["metadata"]["annotations"]


def test_config_change_rolls_the_pods():
    before = render().pod["metadata"]["annotations"]["checksum/config"]
    assert render({"orthanc": {"stableAge": 30}}).pod["metadata"]["annotations"]["checksum/config"] != before


# ---- exposure ------------------------------------------------------------------------------------------------------

def test_dicom_service_as_internal_load_balancer():
    docs = render({"dicom": {"service": {"type": "LoadBalancer", "port": 104, "loadBalancerSourceRanges": [
        "10.0.0.0/8"], "externalTrafficPolicy": "Local", "annotations": {"lb/internal": "true"}}}})
    svc = docs.get("Service", FULLNAME + "-dicom")
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert svc["spec"]["ports"] == [{"name": "dicom", "port": 104, "targetPort": "dicom", "protocol": "TCP"}]
    assert svc["spec"]["externalTrafficPolicy"] == "Local" and svc["metadata"]["annotations"]["lb/internal"] == "true"


def test_dicom_node_port():
    svc = render({"dicom": {"service": {"type": "NodePort", "nodePort": 30104}}}).get("Service", FULLNAME + "-dicom")
    assert svc["spec"]["ports"][0]["nodePort"] == 30104


def test_dicom_tls_configuration_and_files():
    ref = {"secretName": "dicom-tls", "key": "tls.crt"}
    docs = render({"dicom": {"tls": {"enabled": True, "certificate": ref,
                                     "privateKey": {"secretName": "dicom-tls", "key": "tls.key"},
                                     "trustedCertificates": {"secretName": "modalities-ca", "key": "ca.crt"}}}})
    config = docs.config
    assert config["DicomTlsEnabled"] is True and config["DicomTlsRemoteCertificateRequired"] is True
    assert config["DicomTlsCertificate"] == SECRETS + "dicom-tls-certificate"
    assert config["DicomTlsPrivateKey"] == SECRETS + "dicom-tls-private-key"
    assert config["DicomTlsTrustedCertificates"] == SECRETS + "dicom-tls-trusted-certificates"
    assert docs.get("Service", FULLNAME + "-dicom")["spec"]["ports"][0]["name"] == "dicom-tls"


def test_ingress():
    docs = render({"ingress": {"enabled": True, "className": "nginx", "hosts": [{"host": "pacs.example.org"}],
                               "tls": [{"secretName": "pacs-tls", "hosts": ["pacs.example.org"]}]}})
    spec = docs.get("Ingress")["spec"]
    assert spec["ingressClassName"] == "nginx" and spec["tls"][0]["secretName"] == "pacs-tls"
    path = spec["rules"][0]["http"]["paths"][0]
    assert path["backend"]["service"] == {"name": FULLNAME, "port": {"name": "http"}}


@pytest.mark.parametrize("values, kind", [({}, "Ingress"), ({}, "Route"), ({}, "ServiceMonitor"),
                                          ({}, "HorizontalPodAutoscaler"), ({}, "SecretProviderClass"),
                                          ({}, "StatefulSet")])
def test_optional_resources_are_off_by_default(values, kind):
    assert not render(values).has(kind)


def test_openshift_route():
    route = render({"route": {"enabled": True, "host": "pacs.apps.example.org"}}).get("Route")["spec"]
    assert route["host"] == "pacs.apps.example.org" and route["to"]["name"] == FULLNAME
    assert route["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}


def test_service_monitor_scrapes_the_plugin_with_basic_auth():
    docs = render({"monitoring": {"serviceMonitor": {"enabled": True, "basicAuthSecret": {"name": "scraper"}}}})
    endpoint = docs.get("ServiceMonitor")["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/medimaging/metrics")
    assert endpoint["basicAuth"]["password"] == {"name": "scraper", "key": "password"}
    selector = docs.get("ServiceMonitor")["spec"]["selector"]["matchLabels"]
    matching = [d["metadata"]["name"] for d in docs if d["kind"] == "Service"
                and selector.items() <= d["metadata"]["labels"].items()]
    assert matching == [FULLNAME]  # the HTTP Service only


# ---- network policy ------------------------------------------------------------------------------------------------

def test_network_policy_denies_by_default_and_allows_what_is_listed():
    docs = render({"networkPolicy": {
        "ingress": {"dicomFrom": [{"ipBlock": {"cidr": "10.1.0.0/16"}}]},
        "egress": {"allow": [{"cidr": "10.20.0.0/16", "ports": [{"port": 443, "protocol": "TCP"}]}]}}})
    spec = docs.get("NetworkPolicy")["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "pacs"
    http, dicom = spec["ingress"]
    assert http == {"ports": [{"port": "http", "protocol": "TCP"}]}
    assert dicom["from"] == [{"ipBlock": {"cidr": "10.1.0.0/16"}}]
    assert spec["egress"] == [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 443, "protocol": "TCP"}]}]


def test_network_policy_without_dns_egress_denies_all_egress():
    spec = render({"networkPolicy": {"egress": {"dns": False}}}).get("NetworkPolicy")["spec"]
    assert spec["egress"] == [] and "Egress" in spec["policyTypes"]


def test_network_policy_off():
    assert not render({"networkPolicy": {"enabled": False}}).has("NetworkPolicy")


# ---- configuration passthrough ------------------------------------------------------------------------------------

def test_config_map_wins_even_with_false_and_zero():
    config = render({"config": {"RemoteAccessAllowed": False, "StableAge": 0, "DicomWeb": {"Root": "/v2/"},
                                "OrthancPeers": {"p": ["https://peer/"]}}}).config
    assert config["RemoteAccessAllowed"] is False and config["StableAge"] == 0
    assert config["DicomWeb"] == {"Enable": True, "Root": "/v2/", "EnableWado": True, "Ssl": False}
    assert config["OrthancPeers"] == {"p": ["https://peer/"]}


@pytest.mark.parametrize("value, section", [("router", "MedimagingRouter"), ("archive", "MedimagingArchive"),
                                            ("priors", "MedimagingPriors")])
def test_plugin_sections_pass_through(value, section):
    settings = {"Enabled": True, "Workers": 2}
    assert render({"plugin": {value: settings}}).config[section] == settings
    assert section not in render().config


def test_extra_secret_files_for_passed_through_settings():
    docs = render({"secretFiles": [{"alias": "archive-sas", "secretName": "blob", "key": "sas"}],
                   "plugin": {"archive": {"ContainerUrl": "https://a.blob.core.windows.net/c",
                                          "SasTokenFile": SECRETS + "archive-sas"}}})
    sources = docs.volume("secrets")["projected"]["sources"]
    assert {"name": "blob", "items": [{"key": "sas", "path": "archive-sas"}]} in [s["secret"] for s in sources]


# ---- cloud values files -------------------------------------------------------------------------------------------

def test_openshift_sets_no_uid_or_fs_group_anywhere():
    docs = render(files=("values-openshift.yaml",))
    contexts = [docs.pod["spec"]["securityContext"]] + [c["securityContext"] for c in docs.pod["spec"]["containers"]]
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        assert not any(key in context for context in contexts)
    assert docs.pod["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert docs.has("Route") and docs.container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_azure_values_wire_workload_identity_key_vault_and_the_dicom_service():
    docs = render(files=("values-azure.yaml",))
    assert docs.pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert docs.config["DicomWebOAuth"]["Servers"]["azure-dicom"]["Provider"] == "workload_identity"
    assert docs.config["MedimagingRouter"]["Destinations"]["cloud"]["Server"] == "azure-dicom"
    assert docs.config["MedimagingArchive"]["TokenServer"]["Provider"] == "workload_identity"
    assert docs.has("SecretProviderClass") and docs.has("PodDisruptionBudget")
    assert docs.env["ORTHANC__REGISTERED_USERS_SECRET"].startswith(KEYVAULT)
    storage = docs.config["MedimagingStorage"]  # the replicas share Orthanc's files in Blob
    assert storage["Backend"] == "azure_blob" and storage["TokenServer"] == {"Provider": "workload_identity"}
    assert not docs.has("PersistentVolumeClaim")


def test_aws_values_use_irsa_and_object_storage():
    docs = render(files=("values-aws.yaml",))
    assert "eks.amazonaws.com/role-arn" in docs.get("ServiceAccount")["metadata"]["annotations"]
    assert docs.config["MedimagingStorage"]["Bucket"] == "example-pacs-images"
    assert not docs.has("PersistentVolumeClaim")


@pytest.mark.parametrize("values_file", CLOUD_FILES)
def test_every_cloud_file_keeps_the_secure_defaults(values_file):
    docs = render(files=(values_file,))
    context = docs.container["securityContext"]
    assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
    assert docs.config["AuthenticationEnabled"] is True
    assert docs.get("NetworkPolicy")["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert ":latest" not in docs.container["image"]
