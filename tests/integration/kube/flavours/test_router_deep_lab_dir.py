"""The OpenShift router in a deep state folder, as the test parts give molecule ($TMP/medimaging-test-parts-*/
molecule-SCENARIO-lab/kube/NAME/router): HAProxy refuses unix socket paths of 97 characters or more, so the TLS
frontend's socket is abstract (abns@). Two routers in deep folders at once (names must not collide), each serving an
edge Route over HTTPS, and still serving after a reload."""
import os
import time

from test_router_haproxy import DOMAIN, DictStore, endpoints, fetch, route, serve

from lab.ca import LabCA
from lab.kube.flavours import haproxy_config
from lab.kube.flavours.router import Router
from lab.proc import free_port

DEEP = "molecule-openshift_pacs-lab/kube/openshift-pacs-molecule/" + "nested-" * 6 + "router"


def _router(base, ca, pod_port):
    directory = os.path.join(base, DEEP)
    assert len(os.path.join(directory, "fe_sni.sock")) >= 97          # a socket file here would be refused
    os.makedirs(directory)
    store = DictStore()
    store.put(route("edge", {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}))
    store.put(endpoints("edge", pod_port))
    pem = haproxy_config.default_certificate(ca, "router", DOMAIN, directory)
    router = Router(store, haproxy_config.RouterPaths(free_port(), free_port(), directory, pem, ca.cert_path),
                    DOMAIN, interval=0.2)
    router.start()
    return router, store


def test_routers_in_deep_folders_serve_edge_routes_and_survive_a_reload(tmp_path):
    ca = LabCA(str(tmp_path / "ca"))
    ca.ensure()
    pod = serve("deep-pod")
    routers = []
    try:
        for name in ("one", "two"):
            routers.append(_router(str(tmp_path / name), ca, pod.server_address[1]))
        sockets = {router.paths.sni_socket for router, _ in routers}
        assert len(sockets) == 2 and all(s.startswith("abns@") for s in sockets)
        host = "edge-pacs." + DOMAIN
        for router, _ in routers:
            status, body, _location, peer = fetch(router.paths.https_port, host, "/system", cafile=ca.cert_path)
            assert (status, body, peer) == (200, "deep-pod /system proto=https", "*." + DOMAIN)

        router, store = routers[0]
        store.put(route("more", {"termination": "edge"}))             # a new Route: the router reloads HAProxy
        store.put(endpoints("more", pod.server_address[1]))
        deadline = time.monotonic() + 60         # a reload forks HAProxy: seconds when 3 parts share 2 cores
        while time.monotonic() < deadline:       # the new worker inherits the bound abns socket (-x sockpair)
            answer = fetch(router.paths.https_port, "more-pacs." + DOMAIN, cafile=ca.cert_path)
            if router.reloads and answer[0] == 200:
                break
            time.sleep(0.1)
        assert router.reloads >= 1 and answer[:2] == (200, "deep-pod / proto=https")
        assert fetch(router.paths.https_port, host, cafile=ca.cert_path)[0] == 200
    finally:
        for router, _ in routers:
            router.stop()
        pod.shutdown()
