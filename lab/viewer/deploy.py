"""Viewers in the lab: the ohif_viewer role applied to this machine (connection local) under a work folder, served
by one nginx that this module starts with its own main configuration (ports on 127.0.0.1), plus the cloud
viewers' token brokers started with the command line the role's systemd unit runs. Stopped by PID.
"""
import json
import os
import subprocess
import sys

from lab.proc import LOOPBACK, free_port, start_daemon, stop_pid, wait_for_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OHIF_CACHE = os.path.join(REPO, ".cache", "ohif")

NGINX_MAIN = """\
user root;
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    types {{ text/javascript mjs; }}
    access_log off;
    client_body_temp_path {work}/tmp;
    proxy_temp_path {work}/tmp;
    include {work}/sites/*.conf;
}}
"""


def ensure_browser_and_ohif():
    """Debian's chromium, Playwright and the pinned OHIF tarball (scripts/install-browser.sh: a no-op when present)."""
    subprocess.run(["bash", os.path.join(REPO, "scripts", "install-browser.sh")], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(REPO, "roles", "ohif_viewer", "defaults", "main.yml"), encoding="utf-8") as handle:
        version = next(line.split('"')[1] for line in handle if line.startswith("ohif_viewer_version:"))
    return os.path.join(OHIF_CACHE, f"app-{version}.tgz")


def write_htpasswd(path, user, password):
    """An nginx basic-auth file with one user (apr1 hash by openssl)."""
    hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True, capture_output=True,
                            text=True).stdout.strip()
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(f"{user}:{hashed}\n")
    return path


class Viewers:
    """Viewers described as role variables (one dict each, `name` plus ohif_viewer_* values), deployed together."""

    def __init__(self, work, tls_cert, tls_key, tarball):
        self.work = os.path.abspath(work)
        self.tls = (tls_cert, tls_key)
        self.tarball = tarball
        self.specs = {}
        self.ports = {}
        self.broker_pids = []
        self.nginx_pid = None
        for sub in ("sites", "tmp", "credentials"):
            os.makedirs(os.path.join(self.work, sub), exist_ok=True)

    def add(self, name, **role_vars):
        port = free_port()
        self.ports[name] = port
        spec = {"ohif_viewer_instance": name, "ohif_viewer_listen_address": LOOPBACK, "ohif_viewer_listen_port": port,
                "ohif_viewer_server_name": "localhost", "ohif_viewer_manage_services": False,
                "ohif_viewer_install_dir": os.path.join(self.work, "opt", name),
                "ohif_viewer_nginx_site_path": os.path.join(self.work, "sites", f"{name}.conf"),
                "ohif_viewer_tls_cert_path": self.tls[0], "ohif_viewer_tls_key_path": self.tls[1],
                "ohif_viewer_tarball": self.tarball,
                **role_vars}
        if role_vars.get("ohif_viewer_mode") == "cloud":
            spec.setdefault("ohif_viewer_broker_port", free_port())
        self.specs[name] = spec
        return f"https://localhost:{port}"

    def url(self, name):
        return f"https://localhost:{self.ports[name]}"

    def apply(self, extra_env=None, check=False):
        """Run the role for every viewer at once (one inventory host each, in parallel).

        Returns (rc, stats per viewer, names of the tasks that changed something, the whole output)."""
        inventory = os.path.join(self.work, "viewers.json")
        with open(inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"hosts": {name: {"ansible_connection": "local", "ansible_python_interpreter":
                                                 sys.executable, **spec} for name, spec in self.specs.items()}}},
                      handle)
        playbook = os.path.join(self.work, "viewers.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            json.dump([{"name": "OHIF viewers", "hosts": "all", "gather_facts": False,
                        "roles": [{"role": "medimaging.orthanc.ohif_viewer"}]}], handle)
        env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "json",
               "ANSIBLE_LOCALHOST_WARNING": "false", **(extra_env or {})}
        credentials = json.dumps({"__ohif_viewer_credentials_root": os.path.join(self.work, "credentials")})
        done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                               "-f", str(len(self.specs)), "-e", credentials, playbook]
                              + (["--check", "--diff"] if check else []),
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
        try:
            report = json.loads(done.stdout[done.stdout.index("{"):])
        except ValueError:
            return done.returncode, {}, [], done.stdout + done.stderr
        changed = sorted({f"{host}: {task['task']['name']}" for play in report["plays"] for task in play["tasks"]
                          for host, result in task["hosts"].items() if result.get("changed")})
        return done.returncode, report["stats"], changed, done.stdout + done.stderr

    def _load_credential(self, name, spec):
        """What systemd's LoadCredential= does when the broker's unit starts: a private copy of the secret file."""
        source = spec.get("ohif_viewer_oauth", {}).get("ClientSecretFile")
        if not source:
            return
        folder = os.path.join(self.work, "credentials", f"ohif-viewer-broker-{name}.service")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(source, encoding="utf-8") as src:
            value = src.read()
        target = os.path.join(folder, "client-secret")
        with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            handle.write(value)

    def start(self):
        """nginx over every site, and each cloud viewer's broker as its unit's ExecStart runs it."""
        for name, spec in self.specs.items():
            if spec.get("ohif_viewer_mode") == "cloud":
                self._load_credential(name, spec)
                lib = os.path.join(spec["ohif_viewer_install_dir"], "lib")
                argv = ["/usr/bin/python3", os.path.join(lib, "token_broker.py"), "--config",
                        os.path.join(spec["ohif_viewer_install_dir"], "config", "broker.json"), "--server", "viewer",
                        "--port", str(spec["ohif_viewer_broker_port"]), "--plugin-path", lib]
                pid = start_daemon(argv, os.path.join(self.work, f"broker-{name}.log"))
                self.broker_pids.append(pid)
                wait_for_port(LOOPBACK, spec["ohif_viewer_broker_port"], timeout=30, pid=pid)
        conf = os.path.join(self.work, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(NGINX_MAIN.format(work=self.work))
        subprocess.run(["nginx", "-t", "-q", "-p", self.work, "-c", conf], check=True)
        self.nginx_pid = start_daemon(["nginx", "-p", self.work, "-c", conf], os.path.join(self.work, "nginx.log"))
        for port in self.ports.values():
            wait_for_port(LOOPBACK, port, timeout=30, pid=self.nginx_pid)

    def stop(self):
        for pid in [self.nginx_pid, *self.broker_pids]:
            if pid:
                stop_pid(pid)
        self.nginx_pid, self.broker_pids = None, []
