"""TLS on the cluster network's gateway for a service that listens on 127.0.0.1 (the lab's Entra emulator).

lab.site.relay copies bytes because the lab's server certificate already names the site's gateway. A cluster
network's gateway is chosen when the cluster starts, after the emulator has loaded its certificate; so here TLS
ends on the gateway with a lab-CA certificate that names it, and a new TLS connection (verified against the lab
CA) carries the bytes on to 127.0.0.1. Pods see a certificate chain they trust through the lab CA, as with the
site. The listening socket comes from lab.site.relay (IP_FREEBIND: the gateway exists while a pod is attached).
"""
import select
import socket
import ssl
import threading

from lab.site.relay import listener

TARGET = "127.0.0.1"


def _pump(one, other, idle=300):
    """Bytes both ways in ONE thread until either side ends, then end both connections. One thread because an SSL
    object must not be read in one thread while written in another (OpenSSL state is shared: two copy threads hung
    connections and, when one closed the socket under the other, crashed the process). Data OpenSSL has already
    decrypted (pending()) is read before waiting in select. Reads do not block: a readable TLS socket may hold only
    a record with no application data (TLS 1.3 session tickets), and a blocking read would wait for the peer, which
    waits for the request still unread on the other side. No half-close: a TLS client waits for the server's
    close, not for a half-closed stream."""
    peer = {one: other, other: one}
    try:
        while True:
            ready = [sock for sock in peer if isinstance(sock, ssl.SSLSocket) and sock.pending()]
            if not ready:
                ready, _, _ = select.select(list(peer), [], [], idle)
                if not ready:
                    return                       # idle too long
            for sock in ready:
                sock.setblocking(False)
                try:
                    data = sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    continue                     # nothing for the application yet
                finally:
                    sock.setblocking(True)
                if not data:
                    return
                peer[sock].sendall(data)
    except (OSError, ValueError):
        pass
    finally:
        for sock in (one, other):
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)   # the TCP socket under the TLS layer
            except OSError:
                pass
            sock.close()


class GatewayTls:
    pump = staticmethod(_pump)          # a subclass may track or hold the connections (lab/openshift_site.py)

    def __init__(self, listen, port, upstream_port, cert_file, key_file, ca_file):
        self.listen, self.port, self.upstream_port = listen, port, upstream_port
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.server_context.load_cert_chain(cert_file, key_file)
        self.client_context = ssl.create_default_context(cafile=ca_file)
        self.sock = None

    def start(self):
        self.sock = listener(self.listen, self.port)
        threading.Thread(target=self._accept, name=f"gateway-tls-{self.port}", daemon=True).start()
        return self

    def stop(self):
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None

    def _accept(self):
        sock = self.sock
        while True:
            try:
                client, _peer = sock.accept()
            except OSError:
                return                       # stopped
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            client.settimeout(30)
            tls_client = self.server_context.wrap_socket(client, server_side=True)
            upstream = self.client_context.wrap_socket(
                socket.create_connection((TARGET, self.upstream_port), timeout=10), server_hostname=TARGET)
        except (OSError, ssl.SSLError):
            client.close()
            return
        tls_client.settimeout(None)
        upstream.settimeout(None)
        self.pump(tls_client, upstream)
