"""Probes as the kubelet runs them (httpGet, tcpSocket, exec) and the threshold bookkeeping of one probe."""
import http.client
import socket
import ssl
import subprocess

from lab.containers.runtime import podman_env

DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3,
            "successThreshold": 1}


def _port(value, container):
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    for port in container.get("ports") or []:
        if port.get("name") == value:
            return int(port["containerPort"])
    raise ValueError(f"probe port {value!r} names no port of container {container['name']}")


def run_probe(probe, container, pod_ip, podman_name):
    """(success, message). A probe that cannot run (bad port name, unsupported kind) fails with the reason."""
    timeout = probe.get("timeoutSeconds", DEFAULTS["timeoutSeconds"])
    try:
        if "httpGet" in probe:
            return _http(probe["httpGet"], container, pod_ip, timeout)
        if "tcpSocket" in probe:
            target = probe["tcpSocket"]
            with socket.create_connection((target.get("host") or pod_ip, _port(target["port"], container)),
                                          timeout=timeout):
                return True, ""
        if "exec" in probe:
            done = subprocess.run(["podman", "exec", podman_name, *probe["exec"]["command"]], env=podman_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout + 5,
                                  check=False)
            output = done.stdout.decode(errors="replace").strip()[-200:]
            return done.returncode == 0, output
        return False, f"probe kind {sorted(probe)} is not supported by the lab kubelet (httpGet, tcpSocket, exec)"
    except (OSError, ValueError, subprocess.TimeoutExpired, http.client.HTTPException) as exc:
        return False, str(exc) or type(exc).__name__


def _http(target, container, pod_ip, timeout):
    host, port = target.get("host") or pod_ip, _port(target["port"], container)
    if target.get("scheme", "HTTP").upper() == "HTTPS":
        # The kubelet does not verify probe certificates.
        unverified = ssl._create_unverified_context()  # pylint: disable=protected-access
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=unverified)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"User-Agent": "kube-probe/1.37", "Accept": "*/*"}
    headers.update({h["name"]: h["value"] for h in target.get("httpHeaders") or []})
    try:
        connection.request("GET", target.get("path", "/"), headers=headers)
        status = connection.getresponse().status
    finally:
        connection.close()
    return 200 <= status < 400, f"HTTP probe failed with statuscode: {status}" if status >= 400 else ""


class ProbeState:
    """One probe of one container: when it is due and what its thresholds have concluded."""

    def __init__(self, kind, probe, started_at):
        self.kind, self.probe = kind, probe
        self.settings = {key: probe.get(key, default) for key, default in DEFAULTS.items()}
        self.due = started_at + self.settings["initialDelaySeconds"]
        self.successes = self.failures = 0
        self.result = None            # None until a threshold is crossed, then True/False
        self.in_flight = False
        self.message = ""

    def record(self, success, message, now):
        """Returns the new result when this outcome crosses a threshold, else None."""
        self.in_flight = False
        self.due = now + self.settings["periodSeconds"]
        self.message = message
        if success:
            self.successes, self.failures = self.successes + 1, 0
            if self.result is not True and self.successes >= self.settings["successThreshold"]:
                self.result = True
                return True
        else:
            self.failures, self.successes = self.failures + 1, 0
            if self.result is not False and self.failures >= self.settings["failureThreshold"]:
                self.result = False
                return False
            if self.kind != "readiness" and self.failures >= self.settings["failureThreshold"]:
                return False
        return None
