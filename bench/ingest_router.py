"""C-STORE ingest rate with the router on vs off.

Starts on 127.0.0.1: a PostgreSQL cluster, a "cloud" Orthanc (DICOMweb), and two on-prem Orthancs with the
medimaging plugin, each on its own PostgreSQL index database, identical except that "router-on" has a
MedimagingRouter section (destination: the cloud, no filter) and "router-off" has none. Orthanc runs with
TCP_NODELAY=1 in its environment (lab/orthanc.py) and pynetdicom's socket gets TCP_NODELAY after the
association (pynetdicom never sets it). Rounds alternate between the two; every round C-STOREs the same
pre-parsed datasets over one association. With the router on, studies become stable during the round and are
sent while later ones arrive (the real situation); before the next round starts, that backlog is drained, so
no round pays for another's routing. The cloud Orthanc shares the site's cores; --cloud-nice N lowers its CPU
priority to see how much of a gap is the cloud's STOW parsing (another machine in reality) rather than the site's
own routing work.
Prints JSON measured in this one run (goal on/off >= 0.95).
"""
import argparse
import io
import json
import socket
import statistics
import time

import psycopg
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage

from router_throughput import Lab, dsn, generate, rate, wait  # noqa: I100 (bench/ is on sys.path when run)
from router_harness import onprem_kwargs  # noqa: E402  (put on sys.path by router_throughput)


def cstore(orthanc, datasets):
    """C-STORE every dataset over one association with Nagle off on our side. Returns seconds."""
    ae = AE(ae_title="BENCHSCU")
    ae.add_requested_context(CTImageStorage)
    association = ae.associate("127.0.0.1", orthanc.dicom_port, ae_title="ORTHANC")
    if not association.is_established:
        raise RuntimeError("association with %s refused" % orthanc.name)
    association.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        started = time.perf_counter()
        for dataset in datasets:
            status = association.send_c_store(dataset)
            if not status or status.Status != 0x0000:
                raise RuntimeError("C-STORE to %s answered %s" % (orthanc.name, status))
        return time.perf_counter() - started
    finally:
        association.release()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=6, help="per round")
    parser.add_argument("--instances", type=int, default=12, help="per study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns of 16-bit pixels (512: ~0.5 MB)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per side, alternated")
    parser.add_argument("--cloud-nice", type=int, default=0,
                        help="lower the cloud Orthanc's CPU priority (it is another machine in reality)")
    args = parser.parse_args()
    started = time.monotonic()
    lab = Lab("bench-ingest-")
    try:
        lab.postgres()
        cloud = lab.cloud(nice=args.cloud_nice)
        pg_on, pg_off = lab.database(), lab.database()
        on = lab.orthanc("router-on", **onprem_kwargs(pg_on, cloud.url, router={
            "Destinations": {"cloud": {}}, "PollSeconds": 0.2}))
        off = lab.orthanc("router-off", **onprem_kwargs(pg_off, cloud.url))
        wait(lambda: on.get_json("/medimaging/router/status")["state"] == "running", 30, "router running")
        per_round = args.studies * args.instances
        rounds = []
        with psycopg.connect(dsn(pg_on), autocommit=True) as conn:
            for number in range(args.rounds):
                # New studies every round (the same datasets go to both sides).
                blobs = [b for study in generate(args.studies, args.instances, args.size, "ING%d_" % number)
                         for b in study]
                datasets = [dcmread(io.BytesIO(blob)) for blob in blobs]
                order = [("on", on), ("off", off)] if number % 2 == 0 else [("off", off), ("on", on)]
                entry = {"round": number + 1}
                for side, orthanc in order:
                    entry[side + "_seconds"] = round(cstore(orthanc, datasets), 3)
                    if side == "on":  # drain the routing backlog before anything else is measured
                        expected = args.studies * (number + 1)
                        wait(lambda: conn.execute(
                            "SELECT count(*) FROM medimaging_router.items WHERE state = 'done'").fetchone()[0]
                            >= expected, 100, "router drained round %d" % (number + 1))
                entry["on_instances_per_s"] = rate(per_round, entry["on_seconds"])
                entry["off_instances_per_s"] = rate(per_round, entry["off_seconds"])
                entry["on_vs_off_ratio"] = round(entry["off_seconds"] / entry["on_seconds"], 3)
                rounds.append(entry)
            routed = conn.execute("SELECT count(*), sum(instances_sent) FROM medimaging_router.items "
                                  "WHERE state = 'done'").fetchone()
        on_sum = sum(r["on_seconds"] for r in rounds)
        off_sum = sum(r["off_seconds"] for r in rounds)
        print(json.dumps({
            "benchmark": "ingest_router",
            "instances_per_round": per_round, "instance_bytes": len(blobs[0]), "tcp_nodelay": "both sides",
            "cloud_nice": args.cloud_nice,
            "rounds": rounds,
            "router_on_instances_per_s": rate(per_round * len(rounds), on_sum),
            "router_off_instances_per_s": rate(per_round * len(rounds), off_sum),
            "on_vs_off_ratio": round(off_sum / on_sum, 3),
            "on_vs_off_ratio_median_of_rounds": round(statistics.median(r["on_vs_off_ratio"] for r in rounds), 3),
            "on_vs_off_ratio_min_max": [min(r["on_vs_off_ratio"] for r in rounds),
                                        max(r["on_vs_off_ratio"] for r in rounds)],
            "goal": ">= 0.95",
            "routed_studies": routed[0], "routed_instances": int(routed[1] or 0),
            "wall_seconds": round(time.monotonic() - started, 1)}, indent=2))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
