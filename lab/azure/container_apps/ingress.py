"""An app's ingress: a listener on a local port that sends each connection to a replica of the serving revision
(round-robin). HTTP transports terminate TLS with the lab's certificate (as Azure's edge does with its managed one);
plain HTTP is redirected to HTTPS unless allowInsecure; tcp passes bytes through. ipSecurityRestrictions are applied
to the client's address: a refused HTTP client gets 403, a refused TCP client a closed connection.
"""
import ipaddress
import itertools
import socket
import ssl
import threading

from lab.site.relay import _pipe

TLS_HANDSHAKE = 0x16


def allowed(rules, client):
    """ipSecurityRestrictions as Container Apps applies them: Allow rules admit only matches, Deny rules refuse them
    (an app's rules all have the same action)."""
    if not rules:
        return True
    address = ipaddress.ip_address(client)
    matched = any(address in ipaddress.ip_network(r["ipAddressRange"], strict=False) for r in rules)
    return matched if rules[0]["action"] == "Allow" else not matched


class Ingress:
    def __init__(self, ctx, address, port):
        self.ctx, self.address, self.port = ctx, address, port
        self.spec, self.targets = {}, []
        self._turn = itertools.count()
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self._tls.load_cert_chain(ctx.server_cert, ctx.server_key)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.setsockopt(socket.SOL_IP, getattr(socket, "IP_FREEBIND", 15), 1)
        self._sock.bind((address, port))
        self._sock.listen(64)
        self._closed = False
        threading.Thread(target=self._accept, name=f"ingress-{port}", daemon=True).start()

    def configure(self, spec, targets):
        """spec: the app's ingress; targets: [(address, port)] of the serving replicas."""
        self.spec, self.targets = dict(spec or {}), list(targets)

    def close(self):
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _accept(self):
        while not self._closed:
            try:
                client, peer = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client, peer[0]), daemon=True).start()

    def _serve(self, client, peer):
        try:
            client.settimeout(30)
            tcp = self.spec.get("transport") == "tcp"
            if not tcp:
                first = client.recv(1, socket.MSG_PEEK)
                if first and first[0] == TLS_HANDSHAKE:
                    client = self._tls.wrap_socket(client, server_side=True)
                elif not self.spec.get("allowInsecure"):
                    return self._answer(client, 301, "Moved Permanently", redirect=True)
            if not allowed(self.spec.get("ipSecurityRestrictions"), peer):
                return None if tcp else self._answer(client, 403, "Forbidden")
            if not self.targets:
                return None if tcp else self._answer(client, 503, "Service Unavailable")
            target = self.targets[next(self._turn) % len(self.targets)]
            try:
                upstream = socket.create_connection(target, timeout=10)
            except OSError:
                return None if tcp else self._answer(client, 502, "Bad Gateway")
            client.settimeout(None)
            upstream.settimeout(None)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()
            upstream.close()
        except (OSError, ssl.SSLError):
            pass
        finally:
            client.close()
        return None

    def _answer(self, client, status, reason, redirect=False):
        head = client.recv(65536).decode("latin-1").split("\r\n")
        headers = f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n"
        if redirect:
            path = head[0].split(" ")[1] if len(head[0].split(" ")) > 1 else "/"
            headers += f"Location: https://{self.address}:{self.port}{path}\r\n"
        client.sendall((headers + "\r\n").encode())
