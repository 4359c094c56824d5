"""A TCP relay from the site network's gateway to the cloud side on 127.0.0.1 (same port numbers).

The lab's cloud services (emulator, Azurite) listen on 127.0.0.1 only; a container on the site network reaches the
host at the network's gateway. The relay copies bytes both ways, so TLS stays end to end (the lab's server
certificate carries the gateway address). It binds with IP_FREEBIND: the gateway exists only while a container is
attached to the network.

    python -m lab.site.relay --listen 10.89.70.1 --port 41234 --port 41235
"""
import argparse
import socket
import sys
import threading

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
TARGET = "127.0.0.1"


def _pipe(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _serve_one(client, port):
    try:
        upstream = socket.create_connection((TARGET, port), timeout=10)
    except OSError:
        client.close()
        return
    splice(client, upstream)


def splice(client, upstream):
    """Copy bytes both ways between two connected sockets (Nagle off) until both sides are done; close them."""
    upstream.settimeout(None)
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def listener(address, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    sock.bind((address, port))
    sock.listen(64)
    return sock


def _accept_loop(sock, port):
    while True:
        client, _peer = sock.accept()
        threading.Thread(target=_serve_one, args=(client, port), daemon=True).start()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.site.relay")
    parser.add_argument("--listen", required=True, help="the site network's gateway address")
    parser.add_argument("--port", type=int, action="append", required=True, help="relay this port (repeat)")
    args = parser.parse_args(argv)
    sockets = [(listener(args.listen, port), port) for port in args.port]
    print(f"relaying {args.listen}:{','.join(map(str, args.port))} -> {TARGET}", flush=True)
    threads = [threading.Thread(target=_accept_loop, args=item, daemon=True) for item in sockets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
