"""Command line for a throwaway PostgreSQL with one Orthanc database: used by molecule scenarios and make lab.

    python -m lab.pgctl start DIR [--database orthanc --user orthanc]   -> prints and writes DIR/state.json
    python -m lab.pgctl stop DIR
"""
import argparse
import json
import os
import secrets
import sys

from lab.postgres import PostgresCluster
from lab.proc import LabError, free_port


def _state_path(folder):
    return os.path.join(folder, "state.json")


def start(folder, database, user):
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    state_file = _state_path(folder)
    state = json.load(open(state_file, encoding="utf-8")) if os.path.exists(state_file) else {}
    port = state.get("port") or free_port()
    cluster = PostgresCluster(os.path.join(folder, "data"), port)
    cluster.init()
    cluster.start()
    password = state.get("password") or secrets.token_urlsafe(18)
    cluster.create_role(user, password)
    cluster.create_database(database, user)
    # Two more free ports for the service under test (Orthanc's HTTP and DICOM).
    spare = state.get("spare_ports") or [free_port(), free_port()]
    state = {"host": "127.0.0.1", "port": port, "database": database, "user": user, "password": password,
             "pid": cluster.pid, "spare_ports": spare}
    with open(state_file, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    os.chmod(state_file, 0o600)
    return state


def stop(folder):
    state_file = _state_path(folder)
    if not os.path.exists(state_file):
        return False
    state = json.load(open(state_file, encoding="utf-8"))
    PostgresCluster(os.path.join(os.path.abspath(folder), "data"), state["port"]).stop()
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.pgctl")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("folder")
    parser.add_argument("--database", default="orthanc")
    parser.add_argument("--user", default="orthanc")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            state = start(args.folder, args.database, args.user)
            print(json.dumps({key: state[key] for key in ("host", "port", "database", "user")}))
        else:
            stop(args.folder)
    except LabError as err:
        print(f"lab.pgctl: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
