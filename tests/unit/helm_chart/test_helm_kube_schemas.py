"""Every manifest the chart renders is valid for the Kubernetes versions the chart claims (Chart.yaml kubeVersion
>=1.30; the newest schemas kubernetes-validate ships), strictly: an unknown field is an error."""
import kubernetes_validate
import pytest

from helm_chart_render import CLOUD_FILES, render

VERSIONS = ("1.30.0", "1.37.0")
# Custom resources: no schema in Kubernetes' own; their shape is asserted in test_helm_values.py instead.
CUSTOM_KINDS = {"Route", "ServiceMonitor", "SecretProviderClass"}
EVERYTHING = {
    "database": {"mode": "inCluster", "inCluster": {"credentialsSecret": {"name": "pg"}}},
    "storage": {"persistence": {"accessModes": ["ReadWriteMany"]}},
    "autoscaling": {"enabled": True},
    "ingress": {"enabled": True, "className": "nginx", "hosts": [{"host": "pacs.example.org"}],
                "tls": [{"secretName": "pacs-tls", "hosts": ["pacs.example.org"]}]},
    "route": {"enabled": True},
    "monitoring": {"serviceMonitor": {"enabled": True, "basicAuthSecret": {"name": "scraper"}}},
    "dicom": {"service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"],
                          "externalTrafficPolicy": "Local"},
              "tls": {"enabled": True, "certificate": {"secretName": "t", "key": "tls.crt"},
                      "privateKey": {"secretName": "t", "key": "tls.key"},
                      "trustedCertificates": {"secretName": "t", "key": "ca.crt"}}},
    "networkPolicy": {"ingress": {"httpFrom": [{"namespaceSelector": {"matchLabels": {"x": "y"}}}]},
                      "egress": {"allow": [{"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"],
                                            "ports": [{"port": 443, "protocol": "TCP"}]}]}},
    "extraEnv": [{"name": "VERBOSE_ENABLED", "value": "true"}],
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                   "whenUnsatisfiable": "ScheduleAnyway",
                                   "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "orthanc"}}}],
}
CASES = {"defaults": ({}, ()), "everything": (EVERYTHING, ())}
CASES.update({name: ({}, (name,)) for name in CLOUD_FILES})


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_manifests_valid_for_kubernetes(case, version):
    values, files = CASES[case]
    docs = render(values, files)
    checked = 0
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail("%s/%s invalid for Kubernetes %s: %s" % (doc["kind"], doc["metadata"]["name"], version,
                                                                 exc.message))
        checked += 1
    assert checked >= 6  # ConfigMap, Deployment, 2 Services, ServiceAccount, NetworkPolicy at least


def test_everything_case_renders_every_kind():
    assert set(render(EVERYTHING).kinds()) == CUSTOM_KINDS - {"SecretProviderClass"} | {
        "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy", "PersistentVolumeClaim",
        "PodDisruptionBudget", "Service", "ServiceAccount", "StatefulSet"}


def test_validation_refuses_a_misspelt_field():
    """The check has teeth: one field misspelt in a rendered Deployment is refused."""
    deployment = render().get("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)
