"""haproxy.cfg for Routes, in the shape of OpenShift's router template (pure: dicts in, text and files out).

    public       :HTTP   mode http: unsecured routes; edge/reencrypt routes with insecureEdgeTerminationPolicy
                         Allow (served) or Redirect (302 to https); anything else 503
    public_ssl   :HTTPS  mode tcp: reads the TLS ClientHello's SNI (tcp-request inspect); passthrough routes go
                         to their pods as they are, the rest to fe_sni over an abstract unix socket (abns@, PROXY protocol)
    fe_sni       abns    mode http: TLS ends here with the route's certificate (crt-list by SNI) or the
                         default one; edge -> pods over HTTP, reencrypt -> pods over TLS checked against
                         destinationCACertificate (else the cluster CA) and the name SERVICE.NAMESPACE.svc
A host claimed by two routes (same host and path) goes to the older route; the newer is reported rejected
(HostAlreadyClaimed), as OpenShift's router does.
"""
import hashlib
import os
from dataclasses import dataclass, field


@dataclass
class RouterPaths:
    http_port: int
    https_port: int
    directory: str                 # where the certificates and the crt-list live
    default_pem: str               # certificate + key for routes without their own (covers *.<apps domain>)
    cluster_ca: str                # reencrypt routes without destinationCACertificate trust this CA

    @property
    def sni_socket(self):
        """public_ssl -> fe_sni: an abstract unix socket (abns@), not a file: HAProxy refuses a socket path of 97
        characters or more, and a deep LAB_DIR (the test parts' molecule folders) passes that. Named by the state
        folder and this process, so two clusters (or a crashed run's HAProxy) never share it; master-worker reloads
        hand the bound socket to the new worker (-x sockpair), so it is never bound twice."""
        digest = hashlib.sha256(f"{os.path.abspath(self.directory)}\0{os.getpid()}".encode()).hexdigest()[:20]
        return f"abns@medimaging-router-{digest}"

    @property
    def crt_list(self):
        return os.path.join(self.directory, "certs.list")


@dataclass
class Rendered:
    config: str
    files: dict = field(default_factory=dict)        # path -> text the config refers to
    admitted: list = field(default_factory=list)     # (namespace, name) of routes served
    rejected: dict = field(default_factory=dict)     # (namespace, name) -> reason


def write_pem(cert_path, key_path, out_path):
    """HAProxy wants certificate chain and key in one file (0600)."""
    with open(cert_path, encoding="utf-8") as cert, open(key_path, encoding="utf-8") as key:
        text = cert.read() + key.read()
    with open(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        out.write(text)
    return out_path


def default_certificate(ca, name, apps_domain, directory):
    """The router's default certificate: *.<apps domain> from `ca` (a lab.ca.LabCA), as <directory>/default.pem."""
    cert, key = ca.issue_server_cert(name, sans=(f"*.{apps_domain}",))
    return write_pem(cert, key, os.path.join(directory, "default.pem"))


def _key(route):
    return route["metadata"].get("namespace", ""), route["metadata"]["name"]


def _slug(route):
    namespace, name = _key(route)
    return f"{namespace}:{name}"


def _termination(route):
    return ((route["spec"].get("tls") or {}).get("termination") or "").lower()


def _backend_name(route):
    kind = {"": "http", "edge": "edge", "reencrypt": "secure", "passthrough": "tcp"}[_termination(route)]
    return f"be_{kind}:{_slug(route)}"


def _claims(routes):
    """Oldest route first per (host, path); longer paths before shorter for the same host."""
    winners, rejected = [], {}
    seen = {}
    for route in sorted(routes, key=lambda r: (r["metadata"].get("creationTimestamp", ""), _key(r))):
        claim = (route["spec"]["host"].lower(), route["spec"].get("path") or "")
        if claim in seen:
            rejected[_key(route)] = f"route {seen[claim]} already exposes {claim[0]}{claim[1]} and is older"
            continue
        seen[claim] = "/".join(_key(route))
        winners.append(route)
    winners.sort(key=lambda r: (r["spec"]["host"].lower(), -len(r["spec"].get("path") or "")))
    return winners, rejected


def _match(route, host_fetch):
    host = route["spec"]["host"].lower()
    cond = f"{{ {host_fetch} -m str {host} }}"
    if route["spec"].get("path"):
        cond += f" {{ path_beg {route['spec']['path']} }}"
    return cond


def _file(directory, route, suffix, text):
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    namespace, name = _key(route)
    return os.path.join(directory, f"{namespace}_{name}_{digest}{suffix}")


def render(routes, servers, paths):
    """routes: admitted-to-be Route dicts; servers: {(namespace, name): [(ip, port), ...]}; paths: RouterPaths."""
    winners, rejected = _claims(routes)
    out = Rendered("", rejected=rejected)
    host_header = "req.hdr(host),field(1,:),lower"
    public, public_ssl, fe_sni, backends, crt_lines = [], [], [], [], []
    for route in winners:
        termination, tls = _termination(route), route["spec"].get("tls") or {}
        policy = tls.get("insecureEdgeTerminationPolicy") or "None"
        backend = _backend_name(route)
        if termination == "":
            public.append(f"    use_backend {backend} if {_match(route, host_header)}")
        elif termination == "passthrough":
            public_ssl.append(f"    use_backend {backend} if {{ req_ssl_sni -i {route['spec']['host'].lower()} }}")
        else:
            fe_sni.append(f"    use_backend {backend} if {_match(route, host_header)}")
            if policy == "Allow":
                public.append(f"    use_backend {backend} if {_match(route, host_header)}")
            if tls.get("certificate") and tls.get("key"):
                pem = "\n".join(part.strip() for part in (tls["certificate"], tls.get("caCertificate") or "",
                                                          tls["key"]) if part) + "\n"
                pem_path = _file(paths.directory, route, ".pem", pem)
                out.files[pem_path] = pem
                crt_lines.append(f"{pem_path} {route['spec']['host'].lower()}")
        if termination in ("passthrough", "edge", "reencrypt") and policy == "Redirect":
            public.insert(0, f"    http-request redirect scheme https code 302 if {_match(route, host_header)}")
        backends.append(_backend(route, backend, servers.get(_key(route), []), paths, out))
        out.admitted.append(_key(route))
    out.files[paths.crt_list] = "\n".join(crt_lines) + ("\n" if crt_lines else "")
    out.config = "\n".join([
        _HEAD.format(http=paths.http_port, https=paths.https_port, sock=paths.sni_socket),
        *public, "    default_backend be_no_route", "",
        _PUBLIC_SSL.format(https=paths.https_port), *public_ssl, "    default_backend be_sni", "",
        _FE_SNI.format(sock=paths.sni_socket, default=paths.default_pem, crt_list=paths.crt_list),
        *fe_sni, "    default_backend be_no_route", "",
        *backends]) + "\n"
    return out


def _backend(route, backend, servers, paths, out):
    termination, tls = _termination(route), route["spec"].get("tls") or {}
    mode = "tcp" if termination == "passthrough" else "http"
    lines = [f"backend {backend}", f"    mode {mode}", "    balance roundrobin"]
    if mode == "http":
        lines.append("    option forwardfor")
        lines.append("    http-request set-header X-Forwarded-Host %[req.hdr(host)]")
    server_options = ""
    if termination == "reencrypt":
        ca_path = paths.cluster_ca
        if tls.get("destinationCACertificate"):
            ca_path = _file(paths.directory, route, "-dest-ca.pem", tls["destinationCACertificate"])
            out.files[ca_path] = tls["destinationCACertificate"].strip() + "\n"
        service = f"{route['spec']['to']['name']}.{route['metadata'].get('namespace', 'default')}.svc"
        server_options = f" ssl verify required ca-file {ca_path} verifyhost {service} sni str({service})"
    for index, (ip, port) in enumerate(servers):
        lines.append(f"    server pod-{index} {ip}:{port}{server_options}")
    return "\n".join(lines) + "\n"


_HEAD = """# Written by the lab's OpenShift router (lab/kube/flavours); rewritten on every Route or endpoint change.
global
    maxconn 2000
    ssl-default-bind-options ssl-min-ver TLSv1.2
    ssl-default-server-options ssl-min-ver TLSv1.2
    log stderr format short local0 notice

defaults
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout tunnel 1h

backend be_no_route
    mode http
    http-request return status 503 content-type text/plain string "Application is not available"

backend be_sni
    mode tcp
    server fe_sni {sock} send-proxy

frontend public
    bind 127.0.0.1:{http}
    mode http
    http-request set-header X-Forwarded-Proto http"""

_PUBLIC_SSL = """frontend public_ssl
    bind 127.0.0.1:{https}
    mode tcp
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req_ssl_hello_type 1 }}"""

_FE_SNI = """frontend fe_sni
    bind {sock} accept-proxy ssl crt {default} crt-list {crt_list}
    mode http
    http-request set-header X-Forwarded-Proto https"""
