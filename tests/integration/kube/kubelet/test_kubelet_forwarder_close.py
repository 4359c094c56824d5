"""A Service removed (or the cluster stopped) while a client holds a connection through it, as Orthanc holds its
PostgreSQL connections: close() ends that connection and returns, instead of waiting for the client (Python 3.12's
Server.wait_closed waits for open connections; the forwarder's 10 s call timed out and left the cluster running)."""
import socket

from lab.kube.kubelet.forwarder import Forwarders
from test_kubelet_forwarder import Named, ask


def test_close_ends_open_connections_and_returns():
    forwarders = Forwarders("close-test")
    backend = Named("db")
    try:
        port = forwarders.listen("svc", "127.0.0.1", 0, [("127.0.0.1", backend.server_address[1])])
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert ask(client) == "db"                       # open and in use
        forwarders.close("svc")                          # raised TimeoutError before
        assert forwarders.keys() == []
        assert client.recv(1) == b""                     # the client's connection was ended
        client.close()
    finally:
        forwarders.shutdown()
        backend.shutdown()
