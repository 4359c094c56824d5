"""Orthanc with the collection's PROCESS_ENVIRONMENT (glibc's heap thresholds fixed) vs glibc's defaults, same
data, one run.

    .venv/bin/python bench/orthanc_malloc.py [--count 80] [--associations 4] [--rounds 3] [--read-passes 3]

Debian's Orthanc with its filesystem storage and the DICOMweb plugin, started fresh per side and round (the order
alternates by round). Phases as in bench/storage_area.py: C-STORE ingest of --count ~513 KiB CT instances over
--associations associations, GET /instances/ID/file and WADO-RS reads by 4 kept-alive readers, --read-passes
times. Prints JSON: per phase the throughput ratio tuned/default (best and median rounds), Orthanc's CPU ms and
minor page faults per operation on each side (medians), and Orthanc's peak RSS (VmHWM) on each side.
Why: glibc's dynamic thresholds give back the free heap above twice the largest buffer released so far, so an
Orthanc handling several 0.5 MiB buffers at once page-faults them in again on every instance.
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

from storage_area import start, timed  # noqa: E402  (bench/ is this script's folder)
from storage_area_clients import WADO_RS_ACCEPT, Reader, ingest, wado_rs_paths, write_files  # noqa: E402
from storage_area_probes import memory_mib  # noqa: E402
from storage_lab import ADMIN  # noqa: E402
from lab.dicom_factory import make_study  # noqa: E402
from lab.orthanc import PROCESS_ENVIRONMENT  # noqa: E402

GLIBC_DEFAULTS = {name: None for name in PROCESS_ENVIRONMENT if name.startswith("MALLOC_")}
SIDES = {"glibc_default": GLIBC_DEFAULTS, "tuned": {}}
PHASES = ("ingest", "retrieve", "wado_rs")


def minor_faults(pid):
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[7])


def measure(orthanc, paths, associations, read_passes):
    """Per phase: rate, Orthanc's CPU ms and minor faults per operation."""
    reader = Reader(orthanc.http_port, ADMIN)
    result = {}

    def phase(name, work, operations):
        faults = minor_faults(orthanc.pid)
        result[name] = timed(work, operations, orthanc.pid, [])
        result[name]["faults"] = (minor_faults(orthanc.pid) - faults) / operations

    phase("ingest", lambda: ingest(orthanc.dicom_port, paths, associations), len(paths))
    files = ["/instances/%s/file" % i for i in orthanc.get_json("/instances")] * read_passes
    wado = wado_rs_paths(orthanc) * read_passes
    phase("retrieve", lambda: reader.read_all(files, 4), len(files))
    phase("wado_rs", lambda: reader.read_all(wado, 4, WADO_RS_ACCEPT), len(wado))
    for patient in orthanc.get_json("/patients"):
        assert orthanc.request("DELETE", "/patients/%s" % patient).status_code == 200
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--associations", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--read-passes", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="bench-malloc-")
    runs = {side: [] for side in SIDES}
    peak = {side: [] for side in SIDES}
    try:
        files = make_study(instances=args.count, modality="CT", rows=512, columns=512, patient_id="BENCH", seed=7)
        paths = write_files(os.path.join(workdir, "files"), files)
        order = list(SIDES)
        for round_number in range(args.rounds):
            for side in order if round_number % 2 == 0 else order[::-1]:
                orthanc = start(workdir, "%s-%d" % (side, round_number), env=SIDES[side])
                try:
                    ingest(orthanc.dicom_port, paths[:1], 1)  # warm-up
                    orthanc.request("DELETE", "/instances/%s" % orthanc.get_json("/instances")[0])
                    runs[side].append(measure(orthanc, paths, args.associations, args.read_passes))
                    peak[side].append(memory_mib(orthanc.pid)["VmHWM"])
                finally:
                    orthanc.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def pick(side, phase, key, how):
        return how([run[phase][key] for run in runs[side]])
    summary = {
        "instances": args.count, "associations": args.associations, "read_passes": args.read_passes,
        "rounds": args.rounds, "tuned_environment": {k: v for k, v in PROCESS_ENVIRONMENT.items() if k in GLIBC_DEFAULTS},
        "load_average": {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in os.getloadavg()]},
        "throughput_ratio_tuned_vs_default": {
            label: {p: round(pick("tuned", p, "per_s", how) / pick("glibc_default", p, "per_s", how), 2) for p in PHASES}
            for label, how in (("best_rounds", max), ("median_rounds", statistics.median))},
        "orthanc_cpu_ms_per_operation": {side: {p: round(pick(side, p, "orthanc_cpu_ms", statistics.median), 2)
                                                for p in PHASES} for side in SIDES},
        "orthanc_minor_faults_per_operation": {side: {p: round(pick(side, p, "faults", statistics.median))
                                                      for p in PHASES} for side in SIDES},
        "orthanc_peak_rss_mib": {side: round(max(values), 1) for side, values in peak.items()},
        "rates_per_s": {side: {p: [round(run[p]["per_s"]) for run in runs[side]] for p in PHASES} for side in SIDES},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print("took %.0f s" % (time.monotonic() - started), file=sys.stderr)
