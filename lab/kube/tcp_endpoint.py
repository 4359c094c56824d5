"""A TCP endpoint that accepts and closes each connection: a stand-in cloud endpoint on the cluster network's gateway
(this machine), for checking what a pod may reach (the EgressFirewall's Allow and Deny)."""
import socket
import threading


class TcpEndpoint:
    def __init__(self, address):
        self.sock = socket.create_server((address, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, name=f"tcp-endpoint-{self.port}", daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:              # closed
                return
            conn.close()

    def close(self):
        self.sock.close()
