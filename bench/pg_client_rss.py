"""What a PostgreSQL client costs inside Orthanc: the plugin's (medimaging_plugin.database on Debian's psycopg2) vs psycopg 3.

Starts on 127.0.0.1 a PostgreSQL cluster and, per variant and round, a fresh Orthanc with the PostgreSQL index
plugin (so Debian's libpq.so.5 is already mapped, as in production) and the Python plugin running a probe
script. The probe reads VmRSS before the import, after it, and after connect + one query (connection kept
open), and writes them as JSON. Variants: "none" (the probe alone: the noise), "psycopg2" (the plugin's
medimaging_plugin.database over Debian's python3-psycopg2, what Orthanc runs), "psycopg" (psycopg[binary], installed
for Orthanc's Python 3.11 in a throwaway venv). (A ctypes binding of libpq measured +1.6 MiB; it was replaced.)
--preload logging,threading imports those first (the plugin has them loaded before it needs PostgreSQL):
the deltas are then what the client adds to the plugin.
Prints JSON with the medians; every process is stopped by PID at the end.
"""
import argparse
import json
import os
import statistics
import subprocess
import time

from router_throughput import Lab  # noqa: I100 (puts the repo and the router harness on sys.path)
from router_harness import PLUGIN_DIR  # noqa: E402

PROBE = r'''
import json, os, sys, time


def rss_kib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


variant, params = os.environ["PG_PROBE_VARIANT"], json.loads(os.environ["PG_PROBE_PARAMS"])
for name in filter(None, os.environ.get("PG_PROBE_PRELOAD", "").split(",")):
    __import__(name)  # what the plugin has loaded anyway before it needs PostgreSQL
out = {"variant": variant, "before_kib": rss_kib(), "modules_before": len(sys.modules)}
if variant == "psycopg2":
    from medimaging_plugin.database import Database
    connect, query = (lambda: Database(params)), (lambda d: d.execute("SELECT count(*) FROM pg_class", fetch="all"))
elif variant == "psycopg":
    import psycopg
    connect = lambda: psycopg.connect(autocommit=True, **params)
    query = lambda c: c.execute("SELECT count(*) FROM pg_class").fetchall()
else:
    connect, query = (lambda: None), (lambda c: [(0,)])
out["after_import_kib"], out["modules_after"] = rss_kib(), len(sys.modules)
KEEP = connect()  # kept open, as the plugin does
out["rows"] = query(KEEP)
out["after_query_kib"] = rss_kib()
out["libpq_maps"] = sorted({line.split()[-1] for line in open("/proc/self/maps") if "libpq" in line})
with open(os.environ["PG_PROBE_OUT"], "w") as handle:
    json.dump(out, handle)
'''


def rss_kib(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def psycopg_site_packages(work):
    venv = os.path.join(work, "psycopg-venv")
    subprocess.run(["/usr/bin/python3.11", "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "psycopg[binary]>=3.1"], check=True)
    return os.path.join(venv, "lib", "python3.11", "site-packages")


def wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("the probe wrote nothing to %s" % path)
        time.sleep(0.1)
    time.sleep(0.2)  # written in one go, but let it finish
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preload", default="", help="comma-separated modules imported before the first reading")
    args = parser.parse_args()
    lab = Lab("bench-pg-rss-")
    try:
        lab.postgres()
        probe = os.path.join(lab.work, "probe.py")
        with open(probe, "w", encoding="utf-8") as handle:
            handle.write(PROBE)
        paths = {"none": PLUGIN_DIR, "psycopg2": PLUGIN_DIR, "psycopg": psycopg_site_packages(lab.work)}
        runs = {variant: [] for variant in paths}
        for round_ in range(args.rounds):
            for variant, pythonpath in paths.items():
                db = lab.database()
                params = {"host": db["host"], "port": db["port"], "dbname": db["database"], "user": db["user"],
                          "password": db["password"]}
                out = os.path.join(lab.work, "%s-%d.json" % (variant, round_))
                config = {"PostgreSQL": {"EnableIndex": True, "EnableStorage": False, "Host": db["host"],
                                         "Port": db["port"], "Database": db["database"], "Username": db["user"],
                                         "Password": db["password"], "Lock": False},
                          "Python": {"Path": probe}, "PythonScript": probe}
                orthanc = lab.orthanc("%s-%d" % (variant, round_), config=config,
                                      plugins=["PostgreSQLIndex", "Python"],
                                      env={"PYTHONPATH": pythonpath, "PG_PROBE_VARIANT": variant,
                                           "PG_PROBE_PARAMS": json.dumps(params), "PG_PROBE_OUT": out,
                                           "PG_PROBE_PRELOAD": args.preload})
                result = wait_for(out)
                time.sleep(1.0)
                result["orthanc_rss_kib"] = rss_kib(orthanc.pid)
                orthanc.stop()
                runs[variant].append(result)
        summary = {}
        for variant, results in runs.items():
            def median_mib(values):
                return round(statistics.median(values) / 1024.0, 2)
            summary[variant] = {
                "import_mib": median_mib([r["after_import_kib"] - r["before_kib"] for r in results]),
                "import_connect_query_mib": median_mib([r["after_query_kib"] - r["before_kib"] for r in results]),
                "orthanc_rss_after_start_mib": median_mib([r["orthanc_rss_kib"] for r in results]),
                "modules_imported": results[0]["modules_after"] - results[0]["modules_before"],
                "libpq_mapped": results[0]["libpq_maps"],
                "rounds": [{k: r[k] for k in ("before_kib", "after_import_kib", "after_query_kib", "orthanc_rss_kib")}
                           for r in results]}
        print(json.dumps({"benchmark": "pg_client_rss", "preload": args.preload, "variants": summary}, indent=2))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
