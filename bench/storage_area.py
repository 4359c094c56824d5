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
- retrieve: every instance read --read-passes times by --read-threads (4) threads over kept-alive connections, twice:
  GET /instances/ID/file (the bare storage read) and WADO-RS /dicom-web/studies/S/series/R/instances/I (the DICOMweb
  plugin, loaded on every side). Orthanc's storage cache is off (MaximumStorageCacheSize 0, as lab/orthanc.py sets
  it; --storage-cache-mb): with Orthanc's default 128 MB, files just stored would be served from RAM. The files just
  written are in the kernel's page cache, so the filesystem side reads from RAM: the object sides pay a request
  and TLS per read against that;
- cold retrieve (retrieve_cold, wado_rs_cold): the same reads, one pass at a time, each pass (untimed) starting with
  the stored files evicted from the kernel's page cache (posix_fadvise DONTNEED on Orthanc's storage directory, the
  nginx sink's objects, Azurite's extents; moto keeps objects in memory): what reading a prior stored months ago costs;
- CPU: seconds used by Orthanc, by the store and by this process (modality + reader) over ingest + retrieve, per
  instance;
- memory: Orthanc's VmHWM (peak RSS) over both measurements and VmRSS after them, from /proc. "plugin_storage_off"
  is the plugin loaded with MedimagingStorage disabled (files on disk): the feature's own cost is blob/s3 minus
  that; "python_empty_script" (only with --sides) is orthanc-python running an empty script: what loading any
  Python plugin costs Orthanc, below which the plugin cannot go.
Prints JSON: per side, mode, round and phase (ingest, retrieve, wado_rs) the rate and the CPU ms per operation of
Orthanc, the store and this process; per mode the throughput ratios side/filesystem (best rounds, median rounds; goal
>= 0.8), Orthanc's CPU cost ratio (filesystem ms / side ms per operation: steady under load, and what the throughput
ratio tends to when Orthanc's core is the only limit) and the store's CPU beside them; peak RSS with the feature on
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
from storage_area_clients import WADO_RS_ACCEPT, Reader, ingest, wado_rs_paths, write_files  # noqa: E402
from storage_area_probes import cpu_seconds, evict_page_cache, memory_mib, pin  # noqa: E402
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
    plugins = ["DicomWeb"] + (["Python"] if section is not None else [])
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


PHASES = ("ingest", "retrieve", "wado_rs", "retrieve_cold", "wado_rs_cold")


def timed(work, operations, orthanc_pid, store_pids, before_each=None, passes=1):
    """Run work() `passes` times, before_each() untimed ahead of each; -> operations per second and the CPU ms per
    operation of Orthanc, the store and this process, over the timed parts only."""
    elapsed, cpu = 0.0, [0.0, 0.0, 0.0]
    for _ in range(passes):
        if before_each is not None:
            before_each()
        start_cpu = cpu_seconds([orthanc_pid]), cpu_seconds(store_pids), time.process_time()
        started = time.perf_counter()
        work()
        elapsed += time.perf_counter() - started
        for i, now in enumerate((cpu_seconds([orthanc_pid]), cpu_seconds(store_pids), time.process_time())):
            cpu[i] += now - start_cpu[i]
    operations *= passes
    return {"per_s": operations / elapsed,
            "orthanc_cpu_ms": 1000 * cpu[0] / operations,
            "store_cpu_ms": 1000 * cpu[1] / operations,
            "client_cpu_ms": 1000 * cpu[2] / operations}


def measure(orthanc, paths, store_pids, associations, read_passes, read_threads, stored_in):
    """Ingest, then the retrieves, on an empty Orthanc (per phase: rate and CPU per instance stored or read); the
    instances are deleted afterwards (untimed). Warm: the files just written, still in the page cache. Cold: each
    pass starts with the files where they are stored (`stored_in`) evicted from the page cache, as a prior read
    next year would find them."""
    reader = Reader(orthanc.http_port, ADMIN)
    result = {"ingest": timed(lambda: ingest(orthanc.dicom_port, paths, associations), len(paths), orthanc.pid,
                              store_pids)}
    files = ["/instances/%s/file" % i for i in orthanc.get_json("/instances")]
    wado = wado_rs_paths(orthanc)
    result["retrieve"] = timed(lambda: reader.read_all(files * read_passes, read_threads),
                               len(files) * read_passes, orthanc.pid, store_pids)
    result["wado_rs"] = timed(lambda: reader.read_all(wado * read_passes, read_threads, WADO_RS_ACCEPT),
                              len(wado) * read_passes, orthanc.pid, store_pids)

    def evict():
        evict_page_cache(stored_in)
    result["retrieve_cold"] = timed(lambda: reader.read_all(files, read_threads), len(files), orthanc.pid,
                                    store_pids, evict, read_passes)
    result["wado_rs_cold"] = timed(lambda: reader.read_all(wado, read_threads, WADO_RS_ACCEPT), len(wado),
                                   orthanc.pid, store_pids, evict, read_passes)
    for patient in orthanc.get_json("/patients"):
        assert orthanc.request("DELETE", "/patients/%s" % patient).status_code == 200
    return result


def summarise(results, mode):
    """For one mode, per side and phase vs the filesystem: the throughput ratio (best rounds, median rounds) and
    Orthanc's CPU cost ratio (filesystem ms / side ms per operation, medians: what the throughput ratio tends to
    when Orthanc's core is the only limit); the CPU ms per operation of Orthanc and of the store (medians)."""
    runs = {name: [r[mode] for r in rounds] for name, rounds in results.items()}

    def value(name, phase, key, pick):
        return pick([run[phase][key] for run in runs[name]])

    out = {"throughput_ratio_best_rounds": {}, "throughput_ratio_median_rounds": {}, "orthanc_cpu_ratio": {},
           "orthanc_cpu_ms": {}, "store_cpu_ms": {}}
    for name in runs:
        out["orthanc_cpu_ms"][name] = {p: round(value(name, p, "orthanc_cpu_ms", statistics.median), 2) for p in PHASES}
        out["store_cpu_ms"][name] = {p: round(value(name, p, "store_cpu_ms", statistics.median), 2) for p in PHASES}
        if name == "filesystem":
            continue
        for key, pick in (("throughput_ratio_best_rounds", max), ("throughput_ratio_median_rounds", statistics.median)):
            out[key][name] = {p: round(value(name, p, "per_s", pick) / value("filesystem", p, "per_s", pick), 2)
                              for p in PHASES}
        out["orthanc_cpu_ratio"][name] = {
            p: round(out["orthanc_cpu_ms"]["filesystem"][p] / max(out["orthanc_cpu_ms"][name][p], 1e-3), 2)
            for p in PHASES}
    return out


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
        # per side: the plugin's section, its environment, the store's pid, where the stored bytes live (the
        # Orthanc's own storage directory when None; moto keeps its objects in memory: nothing to evict)
        sides = {"filesystem": (None, None, None, None), "plugin_storage_off": ({"Enabled": False}, None, None, None),
                 "azure_blob": (lab.blob_section(RootPath="bench"), None, lab.blob.azurite.pid,
                                [lab.blob.azurite.data_dir]),
                 "azure_blob_sink": (lab.blob_section(RootPath="bench", ContainerUrl=sink.url("account/orthanc")),
                                     None, sink.process.pid, [os.path.join(sink.work, "objects")]),
                 "s3": (lab.s3_section(RootPath="bench", KmsKeyId=None), lab.s3_env(),
                        proc.read_pidfile(lab.moto.pidfile), []),
                 OPTIONAL_SIDE: (EMPTY_SCRIPT, None, None, None)}
        sides = {name: value for name, value in sides.items() if name in wanted}
        results = {name: [] for name in sides}
        memory = {name: [] for name in sides}
        order = list(sides)
        for round_number in range(args.rounds):
            shift = round_number % len(order)
            modes = MODES if round_number % 2 == 0 else MODES[::-1]
            for name in order[shift:] + order[:shift]:
                section, env, store_pid, stored_in = sides[name]
                store_pids = [store_pid] if store_pid else []
                place("unpinned", 0, store_pids, cores)  # Orthanc inherits nothing narrower than the machine
                orthanc = start(workdir, "%s-%d" % (name, round_number), section, env, args.storage_cache_mb)
                if stored_in is None:
                    stored_in = [os.path.join(orthanc.workdir, "storage")]
                try:
                    ingest(orthanc.dicom_port, paths[:1], 1)  # warm-up: association, token, credentials, pool
                    orthanc.request("DELETE", "/instances/%s" % orthanc.get_json("/instances")[0])
                    measured = {}
                    for mode in modes:
                        place(mode, orthanc.pid, store_pids, cores)
                        measured[mode] = measure(orthanc, paths, store_pids, args.associations, args.read_passes,
                                                 args.read_threads, stored_in)
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
