"""Is a replica ready? Its Readiness probe (else Startup, else Liveness) as kubelet runs it against the replica's
address, or, without probes, a TCP connection to the ingress target port, as Container Apps' default probes do.
"""
import http.client
import socket
import ssl


def probe_of(container, target_port):
    by_type = {p.get("type"): p for p in container.get("probes") or []}
    chosen = by_type.get("Readiness") or by_type.get("Startup") or by_type.get("Liveness")
    if chosen:
        return chosen
    return {"type": "Readiness", "tcpSocket": {"port": target_port}} if target_port else None


def deadline_seconds(probe):
    """How long a new revision may take to become ready before it is declared failed."""
    if not probe:
        return 20
    period, failures = probe.get("periodSeconds", 10), probe.get("failureThreshold", 3)
    return min(max(probe.get("initialDelaySeconds", 0) + period * failures, 20), 240)


def start_deadline_seconds(container, target_port):
    """How long a new revision's replica may take: its Startup probe's budget (kubelet keeps waiting while the
    container starts) before the readiness budget of deadline_seconds."""
    startup = next((p for p in container.get("probes") or [] if p.get("type") == "Startup"), None)
    budget = startup.get("initialDelaySeconds", 0) + startup.get("periodSeconds", 10) * startup.get(
        "failureThreshold", 3) if startup else 0
    return min(budget + deadline_seconds(probe_of(container, target_port)), 480)


def check(address, probe):
    """(ready, reason)."""
    if probe is None:
        return True, "running"
    timeout = min(probe.get("timeoutSeconds", 1) or 1, 5)
    if probe.get("tcpSocket"):
        port = probe["tcpSocket"]["port"]
        try:
            socket.create_connection((address, port), timeout=timeout).close()
            return True, f"tcp {port} open"
        except OSError as err:
            return False, f"tcp {port}: {err}"
    spec = probe["httpGet"]
    port, path = spec.get("port", 80), spec.get("path") or "/"
    https = (spec.get("scheme") or "HTTP").upper() == "HTTPS"
    conn = http.client.HTTPSConnection(address, port, timeout=timeout, context=ssl._create_unverified_context()) \
        if https else http.client.HTTPConnection(address, port, timeout=timeout)  # noqa: S323 - kubelet skips it too
    try:
        headers = {h["name"]: h["value"] for h in spec.get("httpHeaders") or []}
        conn.request("GET", path, headers=headers)
        status = conn.getresponse().status
        return 200 <= status < 400, f"http {port}{path}: {status}"
    except OSError as err:
        return False, f"http {port}{path}: {err}"
    finally:
        conn.close()
