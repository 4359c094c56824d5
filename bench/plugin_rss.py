"""Orthanc's memory with the medimaging plugin vs without, under the same load.

Starts on 127.0.0.1: a PostgreSQL cluster, a "cloud" Orthanc (DICOMweb), and three on-prem Orthancs on their own
PostgreSQL index databases (Orthanc's MaximumStorageCacheSize 0, see LAB-NOTES), identical except that
"with-plugin" loads the Python plugin with MedimagingRouter (destination: the cloud) and MedimagingPriors
(server: the cloud) on, "without-plugin" loads no Python plugin, "python-empty" loads orthanc-python with an empty
script (the embedded interpreter alone: the floor of any Python plugin), and "plugin-no-features" loads the plugin
with neither section (the interpreter and the plugin's imports). All get the same load, one after the other:
the same pre-parsed datasets by C-STORE over one association (TCP_NODELAY on both sides), then, with the
plugin, until the router has sent every study to the cloud. VmRSS is read from /proc/PID/status every 0.1 s
during each load; VmHWM at the end. Prints JSON measured in this one run (goal with/without <= 1.2).
"""
import argparse
import io
import json
import os
import threading
import time

import psycopg
from pydicom import dcmread

from ingest_router import cstore  # noqa: I100 (bench/ is on sys.path when run)
from router_throughput import Lab, dsn, generate, wait
from router_harness import onprem_kwargs  # noqa: E402  (put on sys.path by router_throughput)


def status_kib(pid, field):
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("%s not in /proc/%d/status" % (field, pid))


class Sampler:
    """Peak and last VmRSS of one PID, sampled on a thread."""

    def __init__(self, pid, every=0.1):
        self.pid, self.every = pid, every
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(status_kib(self.pid, "VmRSS"))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def mib(kib):
    return round(kib / 1024.0, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--instances", type=int, default=12, help="per study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns of 16-bit pixels (512: ~0.5 MB)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle after the load before the last read")
    args = parser.parse_args()
    started = time.monotonic()
    lab = Lab("bench-rss-")
    try:
        lab.postgres()
        cloud = lab.cloud()
        pg_with, pg_without, pg_idle, pg_empty = lab.database(), lab.database(), lab.database(), lab.database()
        without = lab.orthanc("without-plugin", **onprem_kwargs(pg_without, cloud.url, plugin=False))
        empty_script = os.path.join(lab.work, "empty.py")
        with open(empty_script, "w", encoding="ascii") as handle:
            handle.write("import orthanc  # noqa: F401  (the interpreter and nothing else)\n")
        empty_kwargs = onprem_kwargs(pg_empty, cloud.url)
        empty_kwargs["config"].update({"Python": {"Path": empty_script}, "PythonScript": empty_script})
        python_empty = lab.orthanc("python-empty", **empty_kwargs)
        # Where the memory goes: the plugin loaded with no feature configured (interpreter + imports).
        no_features = lab.orthanc("plugin-no-features", **onprem_kwargs(pg_idle, cloud.url))
        with_plugin = lab.orthanc("with-plugin", **onprem_kwargs(
            pg_with, cloud.url, router={"Destinations": {"cloud": {}}, "PollSeconds": 0.2},
            priors={"Server": "cloud", "Count": 2}))
        wait(lambda: with_plugin.get_json("/medimaging/router/status")["state"] == "running", 30, "router running")
        datasets = [dcmread(io.BytesIO(b)) for study in generate(args.studies, args.instances, args.size, "RSS")
                    for b in study]
        result = {}
        for name, orthanc in (("without_plugin", without), ("python_empty_script", python_empty),
                              ("plugin_no_features", no_features), ("with_plugin", with_plugin)):
            pid = orthanc.pid
            idle = status_kib(pid, "VmRSS")
            with Sampler(pid) as sampler:
                seconds = cstore(orthanc, datasets)
                if orthanc is with_plugin:
                    with psycopg.connect(dsn(pg_with), autocommit=True) as conn:
                        wait(lambda: conn.execute("SELECT count(*) FROM medimaging_router.items WHERE state = "
                                                  "'done'").fetchone()[0] >= args.studies, 100, "all routed")
                time.sleep(args.settle)
            result[name] = {"pid": pid, "idle_rss_mib": mib(idle), "peak_rss_mib": mib(max(sampler.samples)),
                            "after_load_rss_mib": mib(sampler.samples[-1]),
                            "growth_under_load_mib": mib(max(sampler.samples) - idle),
                            "vmhwm_mib": mib(status_kib(pid, "VmHWM")), "samples": len(sampler.samples),
                            "cstore_seconds": round(seconds, 2)}
        w, wo = result["with_plugin"], result["without_plugin"]
        print(json.dumps({
            "benchmark": "plugin_rss",
            "load": {"instances": len(datasets), "instance_bytes": len(generate(1, 1, args.size, "X")[0][0]),
                     "with_plugin_also": "router sends every study to the cloud; priors looks up every new patient"},
            "without_plugin": wo, "python_empty_script": result["python_empty_script"],
            "plugin_no_features": result["plugin_no_features"], "with_plugin": w,
            "peak_rss_ratio": round(w["peak_rss_mib"] / wo["peak_rss_mib"], 3),
            "after_load_rss_ratio": round(w["after_load_rss_mib"] / wo["after_load_rss_mib"], 3),
            "idle_rss_ratio": round(w["idle_rss_mib"] / wo["idle_rss_mib"], 3),
            "plugin_baseline_mib": round(result["plugin_no_features"]["idle_rss_mib"] - wo["idle_rss_mib"], 1),
            "interpreter_floor_peak_ratio": round(result["python_empty_script"]["peak_rss_mib"] / wo["peak_rss_mib"], 3),
            "goal": "peak_rss_ratio <= 1.2",
            "wall_seconds": round(time.monotonic() - started, 1)}, indent=2))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
