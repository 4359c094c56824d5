"""The hospital's link from a lab OpenShift cluster's pods to the cloud side, with a switch to cut it for real.

Pods reach this machine at their network's gateway. The cloud side (the emulator: ARM, Entra ID, the DICOM service)
listens on 127.0.0.1 with a certificate that does not name a cluster gateway (chosen after the emulator started), so
TLS ends on the gateway with a lab-CA certificate that names it and a new verified TLS connection carries the bytes on
(lab/kube/flavours/gateway_tls.py, as the AKS flavour does for Entra ID). The hospital's PostgreSQL is relayed as
plain TCP.

The outage drill (cut/heal) acts on the cloud link only, as a WAN failure would: 'reject' stops listening and ends
every open connection (the pods' connections are refused at once); 'drop' accepts but never forwards nor answers
(requests hang until the client's own timeout, as behind a link that drops packets). The database stays reachable:
it is on the hospital's side.
"""
import socket
import threading

from lab.ca import LabCA
from lab.kube.flavours.gateway_tls import TARGET, GatewayTls, _pump
from lab.site.relay import splice


class CloudLink(GatewayTls):
    """GatewayTls on the cluster gateway, same port as the 127.0.0.1 service, every connection tracked so that a cut
    ends them."""

    def __init__(self, gateway, port, ca_dir):
        ca = LabCA(ca_dir)
        cert, key = ca.issue_server_cert(f"ocp-site-{gateway}", sans=(gateway,))
        super().__init__(gateway, port, port, cert, key, ca.cert_path)
        self.mode, self.lock, self.open = None, threading.Lock(), set()

    def cut(self, mode):
        """'reject' (connections refused) or 'drop' (connections accepted, nothing forwarded nor answered)."""
        if mode not in ("reject", "drop"):
            raise ValueError(f"outage mode {mode!r}: use 'reject' or 'drop'")
        self.mode = mode
        if mode == "reject":
            self.stop()                    # the listener only
        elif self.sock is None:
            self.start()
        self._end_open()

    def heal(self):
        self.mode = None
        self._end_open()                   # held 'drop' connections end: the clients retry on a working link
        if self.sock is None:
            self.start()

    def shutdown(self):
        self.mode = "reject"
        self.stop()
        self._end_open()

    def pump(self, tls_client, upstream):  # pylint: disable=arguments-differ - an instance method here
        with self.lock:
            self.open.update((tls_client, upstream))
        if self.mode == "drop":
            return                         # held, never answered, until heal() or shutdown()
        _pump(tls_client, upstream)
        with self.lock:
            self.open.difference_update((tls_client, upstream))

    def _end_open(self):
        with self.lock:
            sockets, self.open = list(self.open), set()
        for sock in sockets:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class TcpRelay(GatewayTls):
    """Plain TCP from the gateway to the same port on 127.0.0.1 (the hospital's PostgreSQL): GatewayTls's listener
    and accept loop, without TLS."""

    def __init__(self, gateway, port):  # pylint: disable=super-init-not-called - no TLS contexts to load
        self.listen, self.port, self.upstream_port, self.sock = gateway, port, port, None

    def _serve(self, client):
        try:
            upstream = socket.create_connection((TARGET, self.upstream_port), timeout=10)
        except OSError:
            client.close()
            return
        splice(client, upstream)
