"""Storage area benchmark: Orthanc's files in Azurite (Blob, OAuth token) and moto (S3, SigV4) through the plugin vs
Orthanc's own filesystem storage, on the same generated CT instances, in one run.

For each side (one Orthanc each, started and stopped in turn; each round starts with the next side, so no side is
always first or last):
- ingest: C-STORE of --count instances over --associations parallel associations (TCP_NODELAY both sides);
- retrieve: GET /instances/ID/file of every instance with 4 threads (the storage read behind WADO; Debian 12's
  Orthanc answers 404 on /wado here). Orthanc's storage cache is off (MaximumStorageCacheSize 0, as lab/orthanc.py
  sets it; --storage-cache-mb): with Orthanc's default 128 MB, files just stored would be served from RAM;
- memory: Orthanc's VmHWM (peak RSS) and VmRSS after the load, from /proc; "plugin_storage_off" is the plugin
  loaded with MedimagingStorage disabled (files on disk): the feature's own cost is blob/s3 minus that;
  "python_empty_script" (only with --sides) is orthanc-python running an empty script: what loading any Python
  plugin costs Orthanc, below which the plugin cannot go.
- CPU: seconds used by Orthanc and by the emulator (Azurite, moto) over ingest + retrieve, per instance.
Prints JSON: instances/s and MB/s per backend and round, the ratios backend/filesystem (best round of each, and
median rounds; goal >= 0.8), peak RSS with the feature on (blob, s3) vs off (filesystem, no plugin), and the load
average before and after (the machine is shared: read the ratios with it).
The lab's Azurite (Node, one process) and moto (Python) are the limits here, not the plugin: read the ratios as
"plugin + emulator" vs "local disk". "azure_blob_sink" is the same Blob configuration pointed at nginx storing the
bodies (lab/object_sink.py): what the plugin and HTTPS cost when the server costs next to nothing.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (REPO_ROOT, os.path.join(REPO_ROOT, "tests", "integration", "storage_area")):
    sys.path.insert(0, path)

from storage_lab import ADMIN, StorageLab, c_store, orthanc_config, plugin_site_packages  # noqa: E402
from lab.dicom_factory import make_study  # noqa: E402
from lab import proc  # noqa: E402
from lab.object_sink import ObjectSink  # noqa: E402
from lab.orthanc import OrthancProcess  # noqa: E402


EMPTY_SCRIPT = {"empty script": True}  # a marker, not a MedimagingStorage section
SIDES = ("filesystem", "plugin_storage_off", "azure_blob", "azure_blob_sink", "s3", "python_empty_script")
OPTIONAL_SIDE = "python_empty_script"  # run only when named in --sides


def proc_memory(pid):
    values = {}
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            key, _sep, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024.0  # MiB
    return values


def cpu_seconds(pid):
    """utime + stime of a process (children excluded), from /proc/PID/stat."""
    if not pid:
        return 0.0
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(workdir, name, section=None, env=None, cache_mb=0):
    config = orthanc_config(section, MaximumStorageCacheSize=cache_mb)
    if section == EMPTY_SCRIPT:
        script = os.path.join(workdir, "empty_script.py")
        with open(script, "w", encoding="ascii") as handle:
            handle.write("# orthanc-python with nothing registered\n")
        del config["MedimagingStorage"]
        config.update({"Python": {"Path": script}, "PythonScript": script})
    plugins = ["Python"] if section is not None else []
    environment = {"PYTHONPATH": plugin_site_packages() or "", "PYTHONDONTWRITEBYTECODE": "1"}
    environment.update(env or {})
    orthanc = OrthancProcess(os.path.join(workdir, name), config=config, plugins=plugins, auth=ADMIN, name=name,
                             env=environment)
    return orthanc.start()


def ingest(orthanc, files, associations):
    chunks = [files[i::associations] for i in range(associations)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=associations) as pool:
        results = [r for chunk in pool.map(lambda c: c_store(orthanc.dicom_port, c), chunks) for r in chunk]
    elapsed = time.perf_counter() - started
    assert all(status == 0 for _sop, _md5, status in results), "a C-STORE failed"
    return elapsed


def retrieve(orthanc, threads=4):
    urls = ["/instances/%s/file" % i for i in orthanc.get_json("/instances")]

    def one(url):
        answer = orthanc.request("GET", url)
        assert answer.status_code == 200, answer.status_code
        return len(answer.content)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        total = sum(pool.map(one, urls))
    return time.perf_counter() - started, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--rows", type=int, default=512, help="image side: 512 -> ~513 KiB per instance")
    parser.add_argument("--associations", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storage-cache-mb", type=int, default=0, help="Orthanc's MaximumStorageCacheSize")
    parser.add_argument("--sides", default="", help="comma-separated sides to run (filesystem always runs): "
                        "plugin_storage_off, azure_blob, azure_blob_sink, s3, python_empty_script; default all but "
                        "the last")
    args = parser.parse_args()
    wanted = {"filesystem"} | set(filter(None, args.sides.split(","))) if args.sides else set(SIDES) - {OPTIONAL_SIDE}
    if wanted - set(SIDES):
        parser.error("unknown side(s) %s; choose from %s" % (", ".join(sorted(wanted - set(SIDES))), ", ".join(SIDES)))
    load_before = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="bench-storage-")
    lab = StorageLab(os.path.join(workdir, "lab")).start()
    sink = None
    try:
        files = make_study(instances=args.count, modality="CT", rows=args.rows, columns=args.rows, patient_id="BENCH",
                           seed=7)
        megabytes = sum(len(f) for f in files) / 1e6
        lab.container()
        sink = ObjectSink(os.path.join(workdir, "sink"), *lab.blob.ca.issue_server_cert("sink")).start()
        sides = {"filesystem": (None, None), "plugin_storage_off": ({"Enabled": False}, None),
                 "azure_blob": (lab.blob_section(RootPath="bench"), None),
                 "azure_blob_sink": (lab.blob_section(RootPath="bench", ContainerUrl=sink.url("account/orthanc")),
                                     None),
                 "s3": (lab.s3_section(RootPath="bench", KmsKeyId=None), lab.s3_env()),
                 OPTIONAL_SIDE: (EMPTY_SCRIPT, None)}
        sides = {name: value for name, value in sides.items() if name in wanted}
        results = {name: [] for name in sides}
        order = list(sides)
        for round_number in range(args.rounds):
            shift = round_number % len(order)
            for name in order[shift:] + order[:shift]:
                section, env = sides[name]
                orthanc = start(workdir, "%s-%d" % (name, round_number), section, env, args.storage_cache_mb)
                try:
                    c_store(orthanc.dicom_port, files[:1])  # warm-up: association, token, credentials
                    orthanc.request("DELETE", "/instances/%s" % orthanc.get_json("/instances")[0])
                    server = {"azure_blob": lab.blob.azurite.pid, "s3": proc.read_pidfile(lab.moto.pidfile),
                              "azure_blob_sink": sink.worker_pid()}.get(name)
                    cpu_before = cpu_seconds(orthanc.pid), cpu_seconds(server)
                    ingest_s = ingest(orthanc, files, args.associations)
                    retrieve_s, retrieved = retrieve(orthanc)
                    cpu = cpu_seconds(orthanc.pid) - cpu_before[0], cpu_seconds(server) - cpu_before[1]
                    memory = proc_memory(orthanc.pid)
                finally:
                    orthanc.stop()
                results[name].append({"ingest_inst_s": args.count / ingest_s, "ingest_mb_s": megabytes / ingest_s,
                                      "retrieve_inst_s": args.count / retrieve_s,
                                      "retrieve_mb_s": retrieved / 1e6 / retrieve_s,
                                      "peak_rss_mib": memory.get("VmHWM"), "rss_mib": memory.get("VmRSS"),
                                      "orthanc_cpu_ms_per_instance": 1000 * cpu[0] / args.count,
                                      "emulator_cpu_ms_per_instance": 1000 * cpu[1] / args.count})
    finally:
        if sink is not None:
            sink.stop()
        lab.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    keys = ("ingest_inst_s", "retrieve_inst_s")
    best = {name: {key: max(r[key] for r in rounds) for key in keys} for name, rounds in results.items()}
    median = {name: {key: statistics.median(r[key] for r in rounds) for key in keys}
              for name, rounds in results.items()}

    def ratios(values):
        return {name: {"ingest": round(values[name]["ingest_inst_s"] / values["filesystem"]["ingest_inst_s"], 2),
                       "retrieve": round(values[name]["retrieve_inst_s"] / values["filesystem"]["retrieve_inst_s"], 2)}
                for name in values if name != "filesystem"}

    summary = {
        "instances": args.count, "megabytes": round(megabytes, 1), "associations": args.associations,
        "storage_cache_mb": args.storage_cache_mb,
        "load_average": {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in os.getloadavg()]},
        "rounds": results,
        "ratios_vs_filesystem": ratios(best),
        "median_ratios_vs_filesystem": ratios(median),
        "orthanc_cpu_ms_per_instance": {name: round(min(r["orthanc_cpu_ms_per_instance"] for r in rounds), 1)
                                        for name, rounds in results.items()},
        "emulator_cpu_ms_per_instance": {name: round(min(r["emulator_cpu_ms_per_instance"] for r in rounds), 1)
                                         for name, rounds in results.items()},
        "peak_rss_mib_on_vs_off": {name: round(max(r["peak_rss_mib"] for r in results[name]), 1) for name in results},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
