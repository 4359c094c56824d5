"""An object server that costs next to nothing: Debian's nginx with WebDAV PUT/DELETE over HTTPS on 127.0.0.1.

For benchmarks only. Azurite (Node, one process) spends about as much CPU per stored instance as Orthanc itself on
this 2-core machine, so "plugin + Azurite" vs "local disk" measures Azurite as much as the plugin. Pointed at this
sink instead (a Blob container URL: PUT stores the body, GET/HEAD read it, DELETE removes it; headers such as
x-ms-blob-type and Authorization are accepted and ignored), the storage area's ratio shows what the plugin and
the HTTPS round trip cost by themselves. Not a Blob emulator: no authentication, no Content-MD5 check.
"""
import os
import shutil
import subprocess
import time

from lab.proc import LOOPBACK, free_port, port_in_use

NGINX = "/usr/sbin/nginx"

CONFIG = """daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format connections '$connection $connection_requests $ssl_session_reused $request_method $status';
    access_log {access_log};
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen {address}:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        keepalive_requests 100000;
        client_max_body_size 0;
        root {work}/objects;
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw;
        }}
    }}
}}
"""


class ObjectSink:
    """start() -> self; url(path) is an HTTPS URL under the sink; stop() stops nginx by PID. log_connections=True
    writes one line per request (connection serial, its request count, TLS session reused 'r' or '.', method,
    status): tests count the connections a client opened at the server."""

    def __init__(self, workdir, cert, key, log_connections=False):
        self.work = os.path.abspath(workdir)
        self.cert, self.key = cert, key
        self.access_log = os.path.join(self.work, "access.log") if log_connections else None
        self.port = free_port()
        self.process = None

    def url(self, path=""):
        return f"https://{LOOPBACK}:{self.port}/{path.lstrip('/')}"

    def start(self, timeout=10.0):
        os.makedirs(os.path.join(self.work, "objects"), exist_ok=True)
        config = os.path.join(self.work, "nginx.conf")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(CONFIG.format(work=self.work, address=LOOPBACK, port=self.port, cert=self.cert,
                                       key=self.key, access_log=f"{self.access_log} connections"
                                       if self.access_log else "off"))
        # nginx started as root drops its workers to 'nobody' unless told otherwise; the objects stay root's.
        self.process = subprocess.Popen([NGINX, "-c", config, "-g", "user root;"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not port_in_use(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read().decode(errors="replace") if self.process.poll() is not None else ""
                self.stop()
                raise RuntimeError(f"nginx object sink did not start on port {self.port}: {error[-500:]}")
            time.sleep(0.05)
        return self

    def requests(self):
        """[(connection serial, TLS session reused, method, status)] logged so far (log_connections=True)."""
        with open(self.access_log, encoding="ascii") as handle:
            rows = [line.split() for line in handle if line.strip()]
        return [(int(serial), reused == "r", method, int(status)) for serial, _n, reused, method, status in rows]

    def worker_pid(self):
        """The worker's PID (it does the work; the master only supervises), 0 when not running."""
        if not self.process or self.process.poll() is not None:
            return 0
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children", encoding="ascii") as handle:
            children = handle.read().split()
        return int(children[0]) if children else 0

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(os.path.join(self.work, "objects"), ignore_errors=True)
