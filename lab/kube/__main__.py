"""python -m lab.kube up|down|status|env|kubeconfig|serve --name NAME

    up --name N [--flavour plain|aks|openshift] [--port P] [--no-pods]
                       start the cluster as a daemon (pidfile, log and state in $LAB_DIR/kube/N); idempotent
    down --name N      stop it (by PID) and remove every container/pod/network labelled io.medimaging.lab=kube-N
    status --name N    JSON; exit 0 running, 3 stopped
    env --name N       `export KUBECONFIG=...` lines (eval them)
    kubeconfig --name N [--readonly]   print the kubeconfig
    serve ...          run in the foreground (what `up` starts)
"""
import argparse
import json
import os
import signal
import sys
import threading

from lab.azure.config import lab_dir
from lab.ca import LabCA
from lab.proc import LabError, pid_alive, read_pidfile, start_daemon, stop_pid, wait_for_http

FLAVOURS = ("plain", "aks", "openshift")


class Layout:
    """$LAB_DIR/kube/NAME: state.json (flavour, port), pidfile, log, kubeconfigs, the cluster's state."""

    def __init__(self, name, root=None):
        if not name or not name.replace("-", "").isalnum() or name != name.lower():
            raise LabError(f"cluster name {name!r}: use lower-case letters, digits and '-' (it names podman objects)")
        self.name = name
        self.root = os.path.abspath(root or lab_dir())
        self.dir = os.path.join(self.root, "kube", name)
        self.ca_dir = os.path.join(self.root, "ca")
        self.pidfile, self.log = os.path.join(self.dir, "apiserver.pid"), os.path.join(self.dir, "apiserver.log")
        self.facts = os.path.join(self.dir, "state.json")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.kubeconfig_readonly = os.path.join(self.dir, "kubeconfig-readonly")

    def read_facts(self):
        try:
            with open(self.facts, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def write_facts(self, facts):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        with open(self.facts, "w", encoding="utf-8") as handle:
            json.dump(facts, handle, indent=2)


def up(layout, flavour, port, pods):
    facts = layout.read_facts()
    pid = read_pidfile(layout.pidfile)
    if pid_alive(pid):
        if facts.get("flavour", flavour) != flavour:
            raise LabError(f"cluster {layout.name} runs as {facts['flavour']}, not {flavour}: "
                           f"`python -m lab.kube down --name {layout.name}` first")
        return facts
    from lab.proc import free_port, port_in_use  # pylint: disable=import-outside-toplevel
    port = port or facts.get("port") or free_port()
    if port_in_use(port):
        raise LabError(f"port {port} is taken by another process: pass --port with a free one")
    facts = {"name": layout.name, "flavour": flavour, "port": port, "pods": pods,
             "api_url": f"https://127.0.0.1:{port}", "kubeconfig": layout.kubeconfig,
             "kubeconfig_readonly": layout.kubeconfig_readonly, "ca_file": os.path.join(layout.ca_dir, "ca.pem")}
    layout.write_facts(facts)
    LabCA(layout.ca_dir).ensure()           # before the daemon, so the readiness check can trust it
    argv = [sys.executable, "-m", "lab.kube", "serve", "--name", layout.name, "--lab-dir", layout.root,
            "--flavour", flavour, "--port", str(port)] + ([] if pods else ["--no-pods"])
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pid = start_daemon(argv, layout.log, layout.pidfile, cwd=repo)
    try:
        wait_for_http(f"https://127.0.0.1:{port}/readyz", timeout=60, pid=pid, logfile=layout.log,
                      cafile=facts["ca_file"], accept=(200,))
    except LabError:
        stop_pid(pid)
        raise
    return facts


def down(layout):
    stopped = stop_pid(read_pidfile(layout.pidfile))
    from lab.containers.runtime import remove_labelled  # pylint: disable=import-outside-toplevel
    from lab.kube.kubelet import cluster_owner  # pylint: disable=import-outside-toplevel
    removed = remove_labelled(cluster_owner(layout.name))
    if os.path.exists(layout.pidfile):
        os.unlink(layout.pidfile)
    return {"stopped": stopped, "removed": removed}


def serve(layout, flavour, port, pods):
    import logging  # pylint: disable=import-outside-toplevel
    from lab.kube.cluster import Cluster  # pylint: disable=import-outside-toplevel
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    cluster = Cluster(layout.name, layout.dir, layout.ca_dir, flavour, port=port, pods=pods).start()
    logging.info("cluster %s (%s) serving on %s", layout.name, flavour, cluster.api_url)
    try:
        done.wait()
    finally:
        cluster.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.kube", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "down", "status", "env", "kubeconfig", "serve"))
    parser.add_argument("--name", required=True)
    parser.add_argument("--flavour", choices=FLAVOURS, default="plain")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-pods", action="store_true", help="API and controllers only (no podman)")
    parser.add_argument("--readonly", action="store_true", help="kubeconfig: the read-only identity's")
    parser.add_argument("--lab-dir", help="lab directory (default: $LAB_DIR or <repo>/.lab)")
    args = parser.parse_args(argv)
    try:
        layout = Layout(args.name, args.lab_dir)
        if args.command == "up":
            print(json.dumps(up(layout, args.flavour, args.port, not args.no_pods), indent=2))
        elif args.command == "down":
            print(json.dumps(down(layout)))
        elif args.command == "serve":
            serve(layout, args.flavour, args.port, not args.no_pods)
        elif args.command == "status":
            running = pid_alive(read_pidfile(layout.pidfile))
            print(json.dumps(dict(layout.read_facts(), running=running), indent=2))
            return 0 if running else 3
        else:
            if not os.path.exists(layout.kubeconfig):
                raise LabError(f"cluster {args.name} was never started here: python -m lab.kube up --name {args.name}")
            if args.command == "env":
                print(f"export KUBECONFIG={layout.kubeconfig}")
                print(f"export LAB_KUBE_READONLY_KUBECONFIG={layout.kubeconfig_readonly}")
            else:
                with open(layout.kubeconfig_readonly if args.readonly else layout.kubeconfig, encoding="utf-8") as f:
                    sys.stdout.write(f.read())
    except LabError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
