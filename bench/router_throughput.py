"""Router throughput: the same studies sent to a cloud Orthanc by the MedimagingRouter vs by a direct STOW.

Starts on 127.0.0.1 (tests/integration/router/router_harness.py): a PostgreSQL cluster, a plain "cloud"
Orthanc (DICOMweb), and an on-prem Orthanc with the medimaging plugin (PostgreSQL index) whose router has one
destination "cloud" (the DICOMweb server of the same name). Loads generated studies into the on-prem Orthanc
(the destination's modality filter keeps the router from sending them on arrival), then alternates rounds:
  direct: POST /dicom-web/servers/cloud/stow {"Resources": [study], "Synchronous": true}, study after study;
  router: the studies' queue rows are made due at once (one UPDATE in medimaging_router.items) and the router
          sends them (claim -> STOW batches -> done); the time is now() of that UPDATE -> the last done_at.
Which method goes first alternates. The cloud is emptied before each method, so each round stores new objects.
Prints JSON measured in this one run (goal router/direct >= 0.95). Never asserts on time. Also the helpers of bench/ingest_router.py and
bench/plugin_rss.py.
"""
import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (REPO_ROOT, os.path.join(REPO_ROOT, "tests", "integration", "router")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import psycopg  # noqa: E402

from lab.dicom_factory import make_study  # noqa: E402
from lab.orthanc import OrthancProcess  # noqa: E402
from lab.postgres import PostgresCluster  # noqa: E402
from lab.proc import free_port  # noqa: E402
from router_harness import PLUGIN_DIR, cloud_config, onprem_kwargs, plugin_site_packages  # noqa: E402

if PLUGIN_DIR not in sys.path:
    sys.path.insert(0, PLUGIN_DIR)


class Lab:
    """Everything a benchmark starts, stopped (by PID) in reverse order by close()."""

    def __init__(self, prefix):
        if not plugin_site_packages():
            raise SystemExit("plugin venv missing: scripts/install-plugin-venv.sh")
        self.work = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.work, 0o755)  # the 'postgres' account must reach the cluster's folder
        self.cluster = None
        self.orthancs = []

    def postgres(self):
        self.cluster = PostgresCluster(os.path.join(self.work, "pgdata"), free_port())
        self.cluster.init()
        self.cluster.start()
        return self.cluster

    def database(self):
        name = "b_" + secrets.token_hex(4)
        password = secrets.token_urlsafe(16)
        self.cluster.create_role(name, password)
        self.cluster.create_database(name, name)
        return {"host": "127.0.0.1", "port": self.cluster.port, "database": name, "user": name, "password": password}

    def orthanc(self, name, **kwargs):
        process = OrthancProcess(os.path.join(self.work, name), name=name, **kwargs)
        self.orthancs.append(process)
        return process.start()

    def cloud(self, nice=0):
        """The "cloud" Orthanc. nice > 0 lowers its CPU priority: in production the cloud is another machine,
        here it shares the site's cores, and its STOW parsing would otherwise be charged to the site."""
        cloud = self.orthanc("cloud", config=cloud_config(), plugins=["DicomWeb"])
        if nice:
            renice(cloud.pid, nice)
        return cloud

    def close(self):
        for process in reversed(self.orthancs):
            try:
                process.stop()
            except Exception as exc:  # keep stopping the others
                print("warning: stopping %s: %s" % (process.name, exc), file=sys.stderr)
        if self.cluster is not None:
            self.cluster.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def renice(pid, nice):
    """Every thread of `pid` (threads created later inherit their creator's priority)."""
    for tid in os.listdir("/proc/%d/task" % pid):
        os.setpriority(os.PRIO_PROCESS, int(tid), nice)


def dsn(pg):
    return "host=%(host)s port=%(port)s dbname=%(database)s user=%(user)s password=%(password)s" % pg


def generate(studies, instances, size, prefix):
    """[[Part 10 bytes]] per study."""
    return [make_study(instances=instances, rows=size, columns=size, patient_id="%s%03d" % (prefix, n), seed=n)
            for n in range(studies)]


def empty(orthanc):
    for study in orthanc.get_json("/studies"):
        orthanc.request("DELETE", "/studies/%s" % study).raise_for_status()


def count_instances(orthanc):
    return int(orthanc.get_json("/statistics")["CountInstances"])


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError("%s: not reached in %.0f s" % (what, timeout))


def rate(count, seconds):
    return round(count / seconds, 2) if seconds > 0 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--instances", type=int, default=12, help="per study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns of 16-bit pixels (512: ~0.5 MB)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each method, alternated")
    parser.add_argument("--batch", type=int, default=20, help="the router's BatchSize")
    args = parser.parse_args()
    started = time.monotonic()
    lab = Lab("bench-router-")
    try:
        lab.postgres()
        pg = lab.database()
        cloud = lab.cloud()
        # Modalities ["XA"]: the CT studies loaded below are filtered out on arrival; the benchmark enqueues them.
        router = {"Destinations": {"cloud": {"Modalities": ["XA"]}}, "BatchSize": args.batch, "PollSeconds": 0.2}
        onprem = lab.orthanc("onprem", **onprem_kwargs(pg, cloud.url, router=router))
        wait(lambda: onprem.get_json("/medimaging/router/status")["state"] == "running", 30, "router running")
        studies = generate(args.studies, args.instances, args.size, "BENCHRT")
        total_bytes = sum(len(blob) for study in studies for blob in study)
        study_ids = []
        for study in studies:
            for blob in study:
                answer = onprem.upload(blob)
            study_ids.append(answer["ParentStudy"])
        total = args.studies * args.instances
        uids = {sid: onprem.get_json("/studies/%s" % sid)["MainDicomTags"]["StudyInstanceUID"] for sid in study_ids}
        with psycopg.connect(dsn(pg), autocommit=True) as conn:
            wait(lambda: conn.execute("SELECT to_regclass('medimaging_router.items')").fetchone()[0], 30, "schema")
            # Enqueue as route() would, but not yet due (far in the future).
            for sid in study_ids:
                conn.execute("INSERT INTO medimaging_router.items (study_id, study_uid, destination, instances, "
                             "state, next_attempt_at) VALUES (%s, %s, 'cloud', %s, 'done', now() + interval '1 day')",
                             (sid, uids[sid], args.instances))

            def direct_round():
                empty(cloud)
                t0 = time.perf_counter()
                for sid in study_ids:
                    onprem.request("POST", "/dicom-web/servers/cloud/stow",
                                   json={"Resources": [sid], "Synchronous": True}).raise_for_status()
                seconds = time.perf_counter() - t0
                if count_instances(cloud) != total:
                    raise RuntimeError("direct STOW: cloud holds %d of %d" % (count_instances(cloud), total))
                return seconds

            def router_round():
                empty(cloud)
                released_at = conn.execute(
                    "UPDATE medimaging_router.items SET state = 'pending', attempts = 0, rejections = 0, "
                    "next_attempt_at = now(), done_at = NULL RETURNING now()").fetchone()[0]
                wait(lambda: conn.execute("SELECT count(*) FROM medimaging_router.items WHERE state <> 'done'"
                                          ).fetchone()[0] == 0, 90, "router drained the round")
                last_done, errors = conn.execute("SELECT max(done_at), count(*) FILTER (WHERE last_error IS NOT "
                                                 "NULL) FROM medimaging_router.items").fetchone()
                if count_instances(cloud) != total or errors:
                    raise RuntimeError("router: cloud holds %d of %d, %d errors" % (count_instances(cloud), total,
                                                                                    errors))
                return (last_done - released_at).total_seconds()

            rounds = []
            for number in range(args.rounds):
                if number % 2 == 0:  # alternate which method goes first
                    direct = direct_round()
                    routed = router_round()
                else:
                    routed = router_round()
                    direct = direct_round()
                rounds.append({"round": number + 1, "direct_seconds": round(direct, 3),
                               "router_seconds": round(routed, 3),
                               "direct_instances_per_s": rate(total, direct),
                               "router_instances_per_s": rate(total, routed),
                               "router_vs_direct_ratio": round(direct / routed, 3)})
        direct_sum = sum(r["direct_seconds"] for r in rounds)
        router_sum = sum(r["router_seconds"] for r in rounds)
        print(json.dumps({
            "benchmark": "router_throughput",
            "studies": args.studies, "instances_per_study": args.instances, "instances_per_round": total,
            "megabytes_per_round": round(total_bytes / 1e6, 1), "router_batch_size": args.batch,
            "router_workers": 1, "router_poll_seconds": 0.2,
            "rounds": rounds,
            "direct_instances_per_s": rate(total * len(rounds), direct_sum),
            "router_instances_per_s": rate(total * len(rounds), router_sum),
            "router_vs_direct_ratio": round(direct_sum / router_sum, 3),
            "router_vs_direct_ratio_median_of_rounds": round(statistics.median(
                r["router_vs_direct_ratio"] for r in rounds), 3),
            "goal": ">= 0.95",
            "wall_seconds": round(time.monotonic() - started, 1)}, indent=2))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
