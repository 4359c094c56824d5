"""Router throughput to a DICOM service with Azure's STOW rules: 20 % implicit-VR instances vs all explicit.

Starts on 127.0.0.1: a PostgreSQL cluster, a "cloud" Orthanc behind lab/azure/dicom_front.py (the lab DICOM
service's conformance layer: implicit VR is refused with 43264), and an on-prem Orthanc with the plugin whose
router sends to it. Two sets of generated studies of the same shape are loaded: one all Explicit VR Little
Endian, one where every fifth instance is Implicit VR Little Endian (the router re-encodes those with Orthanc's
/modify and sends them with its own STOW-RS). Rounds alternate the sets (order swapped every round); in each,
the set's queue rows are made due by one UPDATE and the time runs from that UPDATE's now() to the last
done_at. The cloud is emptied between rounds. Prints JSON from this one run: per-round rates and
`mixed_vs_explicit_ratio` (instances/s with 20 % implicit over all explicit). Never asserts on time.
"""
import argparse
import io
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from router_throughput import Lab, count_instances, dsn, empty, rate, wait  # noqa: E402

import psycopg  # noqa: E402
from pydicom.uid import ImplicitVRLittleEndian, generate_uid  # noqa: E402

from lab.azure.dicom_front import DicomFront  # noqa: E402
from lab.dicom_factory import make_dataset  # noqa: E402
from router_harness import onprem_kwargs  # noqa: E402


def encoded(dataset, implicit):
    buffer = io.BytesIO()
    if implicit:
        dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    dataset.save_as(buffer, enforce_file_format=True, implicit_vr=implicit, little_endian=True)
    return buffer.getvalue()


def study_set(studies, instances, size, prefix, implicit_every):
    """[[Part 10 bytes]]; every `implicit_every`-th instance (0: none) in Implicit VR Little Endian."""
    out, number = [], 0
    for n in range(studies):
        study_uid, series_uid = generate_uid(), generate_uid()
        blobs = []
        for i in range(instances):
            number += 1
            ds = make_dataset(patient_id="%s%03d" % (prefix, n), study_uid=study_uid, series_uid=series_uid,
                              instance_number=i + 1, rows=size, columns=size, seed=n)
            blobs.append(encoded(ds, implicit_every and number % implicit_every == 0))
        out.append(blobs)
    return out


def transcoded(onprem):
    found = re.search(r"^medimaging_router_instances_transcoded_total\{[^}]*\} (\S+)$",
                      onprem.request("GET", "/medimaging/metrics").text, re.M)
    return float(found.group(1)) if found else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=6)
    parser.add_argument("--instances", type=int, default=10, help="per study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns of 16-bit pixels (512: ~0.5 MB)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of each set, alternated")
    args = parser.parse_args()
    started = time.monotonic()
    lab = Lab("bench-transcode-")
    front = None
    try:
        lab.postgres()
        pg = lab.database()
        cloud = lab.cloud()
        front = DicomFront(cloud.http_port).start()
        # Modalities ["XA"]: the CT studies loaded below are filtered out on arrival; the benchmark enqueues them.
        router = {"Destinations": {"azure": {"Modalities": ["XA"]}}, "PollSeconds": 0.2}
        onprem = lab.orthanc("onprem", **onprem_kwargs(pg, cloud.url, router=router,
                                                       servers={"azure": {"Url": front.url}}))
        wait(lambda: onprem.get_json("/medimaging/router/status")["state"] == "running", 30, "router running")
        sets = {"explicit": study_set(args.studies, args.instances, args.size, "BTEXP", 0),
                "mixed": study_set(args.studies, args.instances, args.size, "BTMIX", 5)}
        ids = {}
        for name, studies in sets.items():
            ids[name] = []
            for study in studies:
                for blob in study:
                    answer = onprem.upload(blob)
                ids[name].append(answer["ParentStudy"])
        total = args.studies * args.instances
        with psycopg.connect(dsn(pg), autocommit=True) as conn:
            wait(lambda: conn.execute("SELECT to_regclass('medimaging_router.items')").fetchone()[0], 30, "schema")
            for name in sets:
                for sid in ids[name]:
                    uid = onprem.get_json("/studies/%s" % sid)["MainDicomTags"]["StudyInstanceUID"]
                    conn.execute("INSERT INTO medimaging_router.items (study_id, study_uid, destination, instances, "
                                 "state, next_attempt_at) VALUES (%s, %s, 'azure', %s, 'done', now() + interval "
                                 "'1 day')", (sid, uid, args.instances))

            def run(name):
                empty(cloud)
                released_at = conn.execute(
                    "UPDATE medimaging_router.items SET state = 'pending', attempts = 0, rejections = 0, "
                    "next_attempt_at = now(), done_at = NULL WHERE study_id = ANY(%s) RETURNING now()",
                    (ids[name],)).fetchone()[0]
                wait(lambda: conn.execute("SELECT count(*) FROM medimaging_router.items WHERE state <> 'done'"
                                          ).fetchone()[0] == 0, 180, "router drained the round")
                last_done, errors = conn.execute(
                    "SELECT max(done_at), count(*) FILTER (WHERE last_error IS NOT NULL) FROM medimaging_router.items "
                    "WHERE study_id = ANY(%s)", (ids[name],)).fetchone()
                dead = conn.execute("SELECT count(*) FROM medimaging_router.dead_instances").fetchone()[0]
                if count_instances(cloud) != total or errors or dead:
                    raise RuntimeError("%s: cloud holds %d of %d, %d errors, %d dead instances"
                                       % (name, count_instances(cloud), total, errors, dead))
                return (last_done - released_at).total_seconds()

            rounds = []
            for number in range(args.rounds):
                order = ("explicit", "mixed") if number % 2 == 0 else ("mixed", "explicit")
                seconds = {name: run(name) for name in order}
                rounds.append({"round": number + 1, "first": order[0],
                               "explicit_instances_per_s": rate(total, seconds["explicit"]),
                               "mixed_instances_per_s": rate(total, seconds["mixed"]),
                               "mixed_vs_explicit_ratio": round(seconds["explicit"] / seconds["mixed"], 3)})
        explicit = sum(total / r["explicit_instances_per_s"] for r in rounds)
        mixed = sum(total / r["mixed_instances_per_s"] for r in rounds)
        print(json.dumps({
            "instances_per_round": total, "implicit_share": 0.2, "instance_bytes": len(sets["explicit"][0][0]),
            "rounds": rounds, "mixed_vs_explicit_ratio": round(explicit / mixed, 3),
            "front_failure_reasons": front.stats["failure_reasons"],
            "transcoded_total": transcoded(onprem),
            "wall_seconds": round(time.monotonic() - started, 1)}, indent=2))
    finally:
        if front is not None:
            front.stop()
        lab.close()


if __name__ == "__main__":
    main()
