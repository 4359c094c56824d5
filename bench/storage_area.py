"""Storage area benchmark: Orthanc's files in Azure Blob (Azurite; an nginx sink) and S3 (moto) through the plugin vs
Orthanc's own filesystem storage, on the same generated CT instances, in one run.

For each side (one Orthanc each, started and stopped in turn; each round starts with the next side, so no side is
always first or last), measured twice in the same Orthanc, the order of the two alternating by round:
- "unpinned": every process may run on every core, as the machine schedules them. The store (Azurite, moto, nginx)
  and the modality compete with Orthanc for the same cores: the ratio is "Orthanc + plugin + store" vs "Orthanc +
  local disk", which on this 2-core machine measures the emulators' CPU as much as the plugin;
- "pinned": Orthanc (all its threads, both sides alike) on one core, the store, the modality and the reader on the
  other(s) (sched_setaffinity). A real Blob or S3 runs on someone else's machines: this is the ratio of the storage
  area inside Orthanc, with the store's own CPU out of Orthanc's way. The store's CPU per instance is printed beside
  it: where it exceeds Orthanc's, the store core is the limit and the ratio still measures the emulator.
What is timed:
- ingest: C-STORE of --count instances over --associations parallel associations (TCP_NODELAY both sides; the files
  are sent as they are, without pydicom re-encoding, so the modality costs little);
- retrieve: GET /instances/ID/file of every instance, --read-passes times, --read-threads (4) threads with kept-alive connections
  (the storage read behind WADO; Debian 12's Orthanc answers 404 on /wado here). Orthanc's storage cache is off
  (MaximumStorageCacheSize 0, as lab/orthanc.py sets it; --storage-cache-mb): with Orthanc's default 128 MB, files
  just stored would be served from RAM;
- CPU: seconds used by Orthanc, by the store and by this process (modality + reader) over ingest + retrieve, per
  instance;
- memory: Orthanc's VmHWM (peak RSS) over both measurements and VmRSS after them, from /proc. "plugin_storage_off"
  is the plugin loaded with MedimagingStorage disabled (files on disk): the feature's own cost is blob/s3 minus
  that; "python_empty_script" (only with --sides) is orthanc-python running an empty script: what loading any
  Python plugin costs Orthanc, below which the plugin cannot go.
Prints JSON: per side, mode and round the rates; per mode the ratios side/filesystem (best round of each, and median
rounds; goal >= 0.8) with the CPU per instance of Orthanc and of the store beside them; peak RSS with the feature on
vs off; the load average before and after (the machine is shared: read the ratios with it).
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (REPO_ROOT, os.path.join(REPO_ROOT, "tests", "integration", "storage_area")):
    sys.path.insert(0, path)

from storage_lab import ADMIN, StorageLab, orthanc_config, plugin_site_packages  # noqa: E402
from storage_area_clients import Reader, ingest, write_files  # noqa: E402
from storage_area_probes import cpu_seconds, memory_mib, pin  # noqa: E402
from lab.dicom_factory import make_study  # noqa: E402
from lab import proc  # noqa: E402
from lab.object_sink import ObjectSink  # noqa: E402
from lab.orthanc import OrthancProcess  # noqa: E402


EMPTY_SCRIPT = {"empty script": True}  # a marker, not a MedimagingStorage section
SIDES = ("filesystem", "plugin_storage_off", "azure_blob", "azure_blob_sink", "s3", "python_empty_script")
OPTIONAL_SIDE = "python_empty_script"  # run only when named in --sides
MODES = ("unpinned", "pinned")


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


def place(mode, orthanc_pid, store_pids, cores):
    """unpinned: everything on every core; pinned: Orthanc on the first core, the store and this process (the
    modality and reader threads it starts later) on the others."""
    everywhere = set(cores)
    orthanc_cores, outside = ({cores[0]}, set(cores[1:])) if mode == "pinned" else (everywhere, everywhere)
    pin([orthanc_pid], orthanc_cores)
    pin(store_pids, outside)
    os.sched_setaffinity(0, outside)


def measure(orthanc, paths, store_pids, associations, read_passes, read_threads):
    """Ingest then retrieve on an empty Orthanc; the instances are deleted afterwards (untimed)."""
    cpu_before = cpu_seconds([orthanc.pid]), cpu_seconds(store_pids), time.process_time()
    started = time.perf_counter()
    ingest(orthanc.dicom_port, paths, associations)
    ingest_s = time.perf_counter() - started
    urls = ["/instances/%s/file" % i for i in orthanc.get_json("/instances")] * read_passes
    reader = Reader(orthanc.http_port, ADMIN)
    started = time.perf_counter()
    retrieved = reader.read_all(urls, read_threads)
    retrieve_s = time.perf_counter() - started
    count = len(paths)
    result = {"ingest_inst_s": count / ingest_s, "retrieve_inst_s": len(urls) / retrieve_s,
              "retrieve_mb_s": retrieved / 1e6 / retrieve_s,
              "orthanc_cpu_ms_per_instance": 1000 * (cpu_seconds([orthanc.pid]) - cpu_before[0]) / count,
              "store_cpu_ms_per_instance": 1000 * (cpu_seconds(store_pids) - cpu_before[1]) / count,
              "client_cpu_ms_per_instance": 1000 * (time.process_time() - cpu_before[2]) / count}
    for patient in orthanc.get_json("/patients"):
        assert orthanc.request("DELETE", "/patients/%s" % patient).status_code == 200
    return result


def summarise(results, mode):
    """Ratios side/filesystem for one mode (best rounds, median rounds) and the CPU per instance (median)."""
    rows = {name: [r[mode] for r in rounds] for name, rounds in results.items()}
    keys = ("ingest_inst_s", "retrieve_inst_s")
    best = {name: {key: max(r[key] for r in runs) for key in keys} for name, runs in rows.items()}
    median = {name: {key: statistics.median(r[key] for r in runs) for key in keys} for name, runs in rows.items()}

    def ratios(values):
        return {name: {"ingest": round(values[name]["ingest_inst_s"] / values["filesystem"]["ingest_inst_s"], 2),
                       "retrieve": round(values[name]["retrieve_inst_s"] / values["filesystem"]["retrieve_inst_s"], 2)}
                for name in values if name != "filesystem"}

    def cpu(key):
        return {name: round(statistics.median(r[key] for r in runs), 1) for name, runs in rows.items()}

    return {"ratios_vs_filesystem_best_rounds": ratios(best), "ratios_vs_filesystem_median_rounds": ratios(median),
            "orthanc_cpu_ms_per_instance": cpu("orthanc_cpu_ms_per_instance"),
            "store_cpu_ms_per_instance": cpu("store_cpu_ms_per_instance"),
            "client_cpu_ms_per_instance": cpu("client_cpu_ms_per_instance")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--rows", type=int, default=512, help="image side: 512 -> ~513 KiB per instance")
    parser.add_argument("--associations", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--read-passes", type=int, default=3, help="times every instance is read")
    parser.add_argument("--read-threads", type=int, default=4, help="parallel readers (a viewer's parallel requests)")
    parser.add_argument("--storage-cache-mb", type=int, default=0, help="Orthanc's MaximumStorageCacheSize")
    parser.add_argument("--sides", default="", help="comma-separated sides to run (filesystem always runs): "
                        "plugin_storage_off, azure_blob, azure_blob_sink, s3, python_empty_script; default all but "
                        "the last")
    args = parser.parse_args()
    wanted = {"filesystem"} | set(filter(None, args.sides.split(","))) if args.sides else set(SIDES) - {OPTIONAL_SIDE}
    if wanted - set(SIDES):
        parser.error("unknown side(s) %s; choose from %s" % (", ".join(sorted(wanted - set(SIDES))), ", ".join(SIDES)))
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        parser.error("pinning needs 2 cores, this process may use %s" % cores)
    load_before = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="bench-storage-")
    lab = StorageLab(os.path.join(workdir, "lab")).start()
    sink = None
    try:
        files = make_study(instances=args.count, modality="CT", rows=args.rows, columns=args.rows, patient_id="BENCH",
                           seed=7)
        paths = write_files(os.path.join(workdir, "files"), files)
        megabytes = sum(len(f) for f in files) / 1e6
        lab.container()
        sink = ObjectSink(os.path.join(workdir, "sink"), *lab.blob.ca.issue_server_cert("sink")).start()
        sides = {"filesystem": (None, None, None), "plugin_storage_off": ({"Enabled": False}, None, None),
                 "azure_blob": (lab.blob_section(RootPath="bench"), None, lab.blob.azurite.pid),
                 "azure_blob_sink": (lab.blob_section(RootPath="bench", ContainerUrl=sink.url("account/orthanc")),
                                     None, sink.process.pid),
                 "s3": (lab.s3_section(RootPath="bench", KmsKeyId=None), lab.s3_env(),
                        proc.read_pidfile(lab.moto.pidfile)),
                 OPTIONAL_SIDE: (EMPTY_SCRIPT, None, None)}
        sides = {name: value for name, value in sides.items() if name in wanted}
        results = {name: [] for name in sides}
        memory = {name: [] for name in sides}
        order = list(sides)
        for round_number in range(args.rounds):
            shift = round_number % len(order)
            modes = MODES if round_number % 2 == 0 else MODES[::-1]
            for name in order[shift:] + order[:shift]:
                section, env, store_pid = sides[name]
                store_pids = [store_pid] if store_pid else []
                place("unpinned", 0, store_pids, cores)  # Orthanc inherits nothing narrower than the machine
                orthanc = start(workdir, "%s-%d" % (name, round_number), section, env, args.storage_cache_mb)
                try:
                    ingest(orthanc.dicom_port, paths[:1], 1)  # warm-up: association, token, credentials, pool
                    orthanc.request("DELETE", "/instances/%s" % orthanc.get_json("/instances")[0])
                    measured = {}
                    for mode in modes:
                        place(mode, orthanc.pid, store_pids, cores)
                        measured[mode] = measure(orthanc, paths, store_pids, args.associations, args.read_passes,
                                                 args.read_threads)
                    memory[name].append(memory_mib(orthanc.pid))
                finally:
                    place("unpinned", orthanc.pid, store_pids, cores)
                    orthanc.stop()
                results[name].append(measured)
    finally:
        if sink is not None:
            sink.stop()
        lab.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    peak = {name: round(max(m["VmHWM"] for m in rows), 1) for name, rows in memory.items()}
    summary = {
        "instances": args.count, "megabytes": round(megabytes, 1), "associations": args.associations,
        "read_passes": args.read_passes, "read_threads": args.read_threads, "storage_cache_mb": args.storage_cache_mb,
        "cores": {"orthanc_when_pinned": cores[:1], "store_modality_reader_when_pinned": cores[1:]},
        "load_average": {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in os.getloadavg()]},
        "rounds": results,
        "unpinned": summarise(results, "unpinned"),
        "pinned": summarise(results, "pinned"),
        "peak_rss_mib": peak,
        "rss_after_load_mib": {name: round(max(m["VmRSS"] for m in rows), 1) for name, rows in memory.items()},
        "peak_rss_ratio_vs_filesystem": {name: round(value / peak["filesystem"], 2) for name, value in peak.items()
                                         if name != "filesystem"},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
