"""Route defaulting/validation and the haproxy.cfg the router renders (checked by `haproxy -c`)."""
import os
import shutil
import subprocess

import pytest

from lab.ca import LabCA
from lab.kube.contracts import AdmissionDenied, AdmissionRequest, UserInfo
from lab.kube.flavours import haproxy_config, routes
from lab.kube.flavours.router import route_servers

DOMAIN = "apps.c1.medimaging.lab"


def route(name, tls=None, host="", path="", created="2026-12-03T10:00:00Z", namespace="pacs"):
    spec = {"host": host or f"{name}-{namespace}.{DOMAIN}", "to": {"kind": "Service", "name": name}}
    if tls:
        spec["tls"] = tls
    if path:
        spec["path"] = path
    return {"apiVersion": routes.API_VERSION, "kind": "Route", "spec": spec,
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created}}


def test_empty_host_defaults_to_name_namespace_apps_domain():
    obj = {"metadata": {"name": "orthanc"}, "spec": {"to": {"name": "orthanc"}}}
    request = AdmissionRequest("CREATE", routes.ROUTE, "pacs", "orthanc", obj, None, UserInfo("u"))
    routes.RouteAdmission(lambda: DOMAIN).admit(request)
    assert obj["spec"] == {"host": f"orthanc-pacs.{DOMAIN}", "wildcardPolicy": "None",
                           "to": {"name": "orthanc", "kind": "Service", "weight": 100}}


@pytest.mark.parametrize("tls, words", [
    ({"termination": "bogus"}, 'spec.tls.termination: Unsupported value: "bogus"'),
    ({"termination": "passthrough", "insecureEdgeTerminationPolicy": "Allow"}, "only allowed for edge and reencrypt"),
    ({"termination": "passthrough", "certificate": "x", "key": "y"}, "passthrough termination does not support"),
    ({"termination": "edge", "destinationCACertificate": "x"}, "edge termination does not support destination"),
    ({"termination": "edge", "insecureEdgeTerminationPolicy": "Sometimes"}, "insecureEdgeTerminationPolicy: Unsupp"),
])
def test_invalid_tls_is_refused_with_422(tls, words):
    obj = route("bad", tls)
    with pytest.raises(AdmissionDenied) as err:
        routes.RouteAdmission(lambda: DOMAIN).admit(
            AdmissionRequest("CREATE", routes.ROUTE, "pacs", "bad", obj, None, UserInfo("u")))
    assert err.value.code == 422 and words in err.value.message


def test_admitted_status_keeps_its_time_while_the_host_stays():
    first = routes.admitted_status(route("a"), DOMAIN)
    assert first["ingress"][0]["conditions"][0] == {"type": "Admitted", "status": "True",
                                                    "lastTransitionTime": first["ingress"][0]["conditions"][0][
                                                        "lastTransitionTime"]}
    assert routes.admitted_status(route("a"), DOMAIN, first) is first
    assert routes.admitted_status(route("a", host="other.example"), DOMAIN, first)["ingress"][0]["host"] == \
        "other.example"


def test_servers_from_endpoints_by_port_name_number_or_service_port():
    eps = {"subsets": [{"addresses": [{"ip": "10.200.1.5"}, {"ip": "10.200.1.6"}],
                        "ports": [{"name": "http", "port": 8042}, {"name": "dicom", "port": 4242}]}]}
    service = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8042}]}}
    by = lambda target: route_servers({"spec": {"port": {"targetPort": target}}}, service, eps, [])  # noqa: E731
    assert by("http") == [("10.200.1.5", 8042), ("10.200.1.6", 8042)]
    assert by(4242) == [("10.200.1.5", 4242), ("10.200.1.6", 4242)]
    assert by(80) == [("10.200.1.5", 8042), ("10.200.1.6", 8042)]
    assert by("nope") == []
    slices = [{"ports": [{"name": "http", "port": 8042}],
               "endpoints": [{"addresses": ["10.200.1.7"], "conditions": {"ready": True}},
                             {"addresses": ["10.200.1.8"], "conditions": {"ready": False}}]}]
    assert route_servers({"spec": {}}, service, None, slices) == [("10.200.1.7", 8042)]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("cfg"))
    ca = LabCA(os.path.join(base, "ca"))
    ca.ensure()
    pem = haproxy_config.default_certificate(ca, "router", DOMAIN, base)
    cert, key = ca.issue_server_cert("own", sans=(f"own-pacs.{DOMAIN}",))
    return haproxy_config.RouterPaths(18080, 18443, base, pem, ca.cert_path), cert, key


def check(rendered, paths):
    for path, text in rendered.files.items():
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    cfg = os.path.join(paths.directory, "haproxy.cfg")
    with open(cfg, "w", encoding="utf-8") as handle:
        handle.write(rendered.config)
    return subprocess.run(["haproxy", "-c", "-f", cfg], capture_output=True, text=True, check=False)


@pytest.mark.skipif(not shutil.which("haproxy"), reason="haproxy is installed by scripts/install-system-packages.sh")
def test_every_termination_renders_a_configuration_haproxy_accepts(paths):
    paths, cert, key = paths
    tls_own = {"termination": "edge", "certificate": open(cert, encoding="utf-8").read(),
               "key": open(key, encoding="utf-8").read(), "insecureEdgeTerminationPolicy": "Allow"}
    all_routes = [route("plain"), route("short", path="/a"), route("long", host=f"short-pacs.{DOMAIN}", path="/a/b"),
                  route("edge", {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}),
                  route("own", tls_own), route("pass", {"termination": "passthrough"}),
                  route("re", {"termination": "reencrypt", "destinationCACertificate": open(
                      paths.cluster_ca, encoding="utf-8").read()}),
                  route("re2", {"termination": "reencrypt"}),
                  route("twin", host=f"plain-pacs.{DOMAIN}", created="2026-12-03T11:00:00Z")]
    servers = {("pacs", name): [("10.200.1.5", 8080)] for name in ("plain", "edge", "pass", "re", "re2")}
    rendered = haproxy_config.render(all_routes, servers, paths)
    result = check(rendered, paths)
    assert result.returncode == 0, result.stderr + rendered.config
    assert rendered.rejected == {("pacs", "twin"): "route pacs/plain already exposes "
                                                   f"plain-pacs.{DOMAIN} and is older"}
    config = rendered.config
    assert config.index("path_beg /a/b") < config.index("path_beg /a }")      # longer path first
    assert f"use_backend be_tcp:pacs:pass if {{ req_ssl_sni -i pass-pacs.{DOMAIN} }}" in config
    assert "verifyhost re.pacs.svc" in config and f"ca-file {paths.cluster_ca} verifyhost re2.pacs.svc" in config
    assert f"http-request redirect scheme https code 302 if {{ req.hdr(host),field(1,:),lower -m str " \
           f"edge-pacs.{DOMAIN} }}" in config
    crt_list = rendered.files[paths.crt_list].split()
    assert crt_list[1] == f"own-pacs.{DOMAIN}" and os.path.exists(crt_list[0])


def test_no_routes_still_renders_a_valid_configuration(paths):
    paths = paths[0]
    rendered = haproxy_config.render([], {}, paths)
    assert rendered.files == {paths.crt_list: ""}
    assert check(rendered, paths).returncode == 0
