"""The OpenShift flavour's router: a real HAProxy serving Routes to real HTTP and HTTPS servers on 127.0.0.1.

The store is a small dict store (the API's own lands separately); the pods are two local servers standing at the
addresses Endpoints name. Edge (default and own certificate, Redirect, Allow), passthrough (SNI), reencrypt
(destinationCACertificate, verifyhost SERVICE.NS.svc), 503 for unknown hosts, status Admitted and
HostAlreadyClaimed, a reload when a Route is added.
"""
import copy
import http.client
import http.server
import os
import socket
import ssl
import threading
import time

import pytest

from lab.ca import LabCA
from lab.kube.contracts import Conflict
from lab.kube.flavours import haproxy_config, routes
from lab.kube.flavours.router import Router
from lab.proc import free_port

DOMAIN = "apps.test.medimaging.lab"


class DictStore:
    """Store.get/list/update over a dict, enough for the router (status writes bump resourceVersion)."""

    def __init__(self):
        self.objects, self.lock = {}, threading.Lock()

    def put(self, obj):
        api, plural = obj["apiVersion"], obj.pop("_plural")
        meta = obj["metadata"]
        meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        meta["resourceVersion"] = "1"
        with self.lock:
            self.objects[(api, plural, meta.get("namespace", ""), meta["name"])] = obj

    def get(self, api_version, plural, namespace, name):
        with self.lock:
            return copy.deepcopy(self.objects.get((api_version, plural, namespace, name)))

    def list(self, api_version, plural, namespace="", label_selector="", field_selector=""):
        with self.lock:
            return [copy.deepcopy(o) for (a, p, ns, _), o in sorted(self.objects.items())
                    if a == api_version and p == plural and (not namespace or ns == namespace)]

    def update(self, obj, user, subresource=""):
        key = (obj["apiVersion"], "routes", obj["metadata"]["namespace"], obj["metadata"]["name"])
        with self.lock:
            stored = self.objects[key]
            if stored["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise Conflict("stale")
            stored["status"] = copy.deepcopy(obj["status"])
            stored["metadata"]["resourceVersion"] = str(int(stored["metadata"]["resourceVersion"]) + 1)
            return copy.deepcopy(stored)


class Pod(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = f"{self.server.pod_name} {self.path} proto={self.headers.get('X-Forwarded-Proto')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(name, context=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pod)
    server.pod_name = name
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fetch(port, host, path="/", tls=True, cafile=None):
    """GET through the router as a browser would for https://host/path: SNI and Host header name the route."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    peer = None
    if tls:
        sock = ssl.create_default_context(cafile=cafile).wrap_socket(sock, server_hostname=host)
        peer = dict(x[0] for x in sock.getpeercert()["subject"])["commonName"]
    conn = http.client.HTTPConnection(host, timeout=5)
    conn.sock = sock
    conn.request("GET", path, headers={"Host": host})
    answer = conn.getresponse()
    body = answer.read().decode()
    conn.close()
    return answer.status, body, answer.getheader("Location"), peer


def route(name, tls=None, host="", path=""):
    spec = {"host": host, "to": {"kind": "Service", "name": name}, "port": {"targetPort": "web"}}
    if tls:
        spec["tls"] = tls
    if path:
        spec["path"] = path
    obj = {"apiVersion": routes.API_VERSION, "kind": "Route", "_plural": "routes",
           "metadata": {"name": name, "namespace": "pacs"}, "spec": spec}
    spec["host"] = host or routes.default_host(obj, DOMAIN)
    assert not routes.validate(obj)
    return obj


def endpoints(name, port):
    return {"apiVersion": "v1", "kind": "Endpoints", "_plural": "endpoints",
            "metadata": {"name": name, "namespace": "pacs"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "web", "port": port}]}]}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("router"))
    ca = LabCA(os.path.join(base, "ca"))
    ca.ensure()
    default_pem = haproxy_config.default_certificate(ca, "router", DOMAIN, base)
    pod_cert, pod_key = ca.issue_server_cert("pod", sans=("secure.pacs.svc", host("pass")))
    own_cert, own_key = ca.issue_server_cert("own", sans=("pacs.hospital.example",))
    pod_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pod_tls.load_cert_chain(pod_cert, pod_key)
    plain, secure = serve("plain-pod"), serve("secure-pod", pod_tls)
    store = DictStore()
    with open(ca.cert_path, encoding="utf-8") as handle:
        ca_pem = handle.read()
    for obj in (route("plain"),
                route("edge", {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}),
                route("allow", {"termination": "edge", "insecureEdgeTerminationPolicy": "Allow"}),
                route("own", {"termination": "edge", "certificate": open(own_cert, encoding="utf-8").read(),
                              "key": open(own_key, encoding="utf-8").read()}, host="pacs.hospital.example"),
                route("pass", {"termination": "passthrough"}),
                route("secure", {"termination": "reencrypt", "destinationCACertificate": ca_pem}),
                route("wrongca", {"termination": "reencrypt", "destinationCACertificate": open(
                    "/etc/ssl/certs/ca-certificates.crt", encoding="utf-8").read().split("-----END CERTIFICATE-----")[0]
                    + "-----END CERTIFICATE-----\n"})):
        store.put(obj)
    for name in ("plain", "edge", "allow", "own"):
        store.put(endpoints(name, plain.server_address[1]))
    for name in ("pass", "secure", "wrongca"):
        store.put(endpoints(name, secure.server_address[1]))
    paths = haproxy_config.RouterPaths(free_port(), free_port(), os.path.join(base, "r"), default_pem, ca.cert_path)
    router = Router(store, paths, DOMAIN, interval=0.2)
    router.start()
    yield {"router": router, "store": store, "ca": ca.cert_path, "http": paths.http_port,
           "https": paths.https_port, "plain": plain}
    router.stop()
    plain.shutdown()
    secure.shutdown()


def host(name):
    return f"{name}-pacs.{DOMAIN}"


def test_the_rendered_configuration_passes_haproxy_check(world):
    import subprocess
    result = subprocess.run(["haproxy", "-c", "-f", world["router"].config_path], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_unsecured_route_over_http(world):
    assert fetch(world["http"], host("plain"), "/studies", tls=False)[:2] == (200, "plain-pod /studies proto=http")


def test_edge_route_ends_tls_with_the_default_certificate_and_redirects_http(world):
    status, body, _location, peer = fetch(world["https"], host("edge"), "/x", cafile=world["ca"])
    assert (status, body, peer) == (200, "plain-pod /x proto=https", f"*.{DOMAIN}")
    status, _body, location, _peer = fetch(world["http"], host("edge"), "/x", tls=False)
    assert (status, location) == (302, f"https://{host('edge')}/x")


def test_edge_route_with_allow_serves_http_too(world):
    assert fetch(world["http"], host("allow"), tls=False)[:2] == (200, "plain-pod / proto=http")


def test_edge_route_uses_its_own_certificate(world):
    status, _body, _location, peer = fetch(world["https"], "pacs.hospital.example", cafile=world["ca"])
    assert (status, peer) == (200, "pacs.hospital.example")


def test_passthrough_reaches_the_pods_tls(world):
    status, body, _location, peer = fetch(world["https"], host("pass"), "/p", cafile=world["ca"])
    assert (status, peer) == (200, "secure.pacs.svc")           # the pod's own certificate
    assert body == "secure-pod /p proto=None"                    # HAProxy did not touch the HTTP


def test_reencrypt_checks_the_pod_against_the_destination_ca(world):
    status, body, _location, peer = fetch(world["https"], host("secure"), cafile=world["ca"])
    assert (status, body, peer) == (200, "secure-pod / proto=https", f"*.{DOMAIN}")
    assert fetch(world["https"], host("wrongca"), cafile=world["ca"])[0] == 503


def test_unknown_host_and_edge_route_without_policy_over_http_get_503(world):
    assert fetch(world["https"], host("nothing"), cafile=world["ca"])[0] == 503
    assert fetch(world["http"], host("own"), tls=False)[0] == 503


def test_routes_are_admitted_and_a_duplicate_host_is_refused_then_a_new_route_is_served(world):
    store, router = world["store"], world["router"]
    admitted = store.get(routes.API_VERSION, "routes", "pacs", "plain")["status"]["ingress"][0]
    assert admitted["host"] == host("plain") and admitted["routerName"] == "default"
    assert admitted["conditions"][0]["type"] == "Admitted" and admitted["conditions"][0]["status"] == "True"
    reloads = router.reloads
    store.put(route("late", host=host("plain")))
    store.put(route("fresh"))
    store.put(endpoints("fresh", world["plain"].server_address[1]))
    deadline = time.monotonic() + 60                   # a reload forks HAProxy: seconds when 3 parts share 2 cores
    while time.monotonic() < deadline:
        late = (store.get(routes.API_VERSION, "routes", "pacs", "late").get("status") or {}).get("ingress")
        if late and router.reloads > reloads:
            break
        time.sleep(0.1)
    assert late and late[0]["conditions"][0]["reason"] == "HostAlreadyClaimed", (late, router.reloads, reloads)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:                 # the new worker takes over within moments of the reload
        answer = fetch(world["http"], host("fresh"), tls=False)
        if answer[0] == 200:
            break
        time.sleep(0.1)
    assert answer[:2] == (200, "plain-pod / proto=http")
    assert fetch(world["http"], host("plain"), tls=False)[0] == 200   # the older route keeps its host
