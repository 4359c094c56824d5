"""Archive throughput: orthanc_study_archive's engine vs a plain azure-storage-blob upload of the same files.

Starts Azurite over HTTPS and an Orthanc on 127.0.0.1, loads generated studies, runs both sides once untimed,
then alternates rounds of
(a) a plain upload of the same Part 10 files from a local folder with a thread pool of --concurrency, and
(b) StudyArchiver (read from Orthanc with its recorded MD5, upload with Content-MD5, verify by listing, manifest)
with the same concurrency, each into a fresh container created before the timers. Prints JSON measured in this
one run; goal archive/plain >= 0.8.
Also times a re-run over an archived container (every blob skipped by MD5: the cost of resuming).
"""
import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (REPO_ROOT, os.path.join(REPO_ROOT, ".cache", "collections"),
             os.path.join(REPO_ROOT, "tests", "integration", "archive")):
    sys.path.insert(0, path)

from archive_lab import BlobLab  # noqa: E402
from lab.dicom_factory import make_study  # noqa: E402
from lab.orthanc import OrthancProcess  # noqa: E402

from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_rest import OrthancClient  # noqa: E402
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_blob import BlobArchive  # noqa: E402
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_engine import StudyArchiver  # noqa: E402

ADMIN = ("admin", "bench-archive")
OLD_DATE = datetime.date(2010, 1, 1)  # selected by older_than_days=365


def plain_upload(container, folder, concurrency):
    names = sorted(os.listdir(folder))

    def one(name):
        with open(os.path.join(folder, name), "rb") as handle:
            container.upload_blob(name, handle.read(), overwrite=True)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, names))


def archive_all(orthanc, container, concurrency):
    with ThreadPoolExecutor(max_workers=concurrency) as executor:
        archiver = StudyArchiver(orthanc, BlobArchive(container), executor)
        results, failures = archiver.run(archiver.archive_study, archiver.select(older_than_days=365))
    assert not failures and all(r["verified"] for r in results), failures
    return results


def timed(action):
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=8)
    parser.add_argument("--instances", type=int, default=16, help="per study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns of 16-bit pixels (512: ~0.5 MB)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-archive-")
    lab = BlobLab(os.path.join(work, "blob"))
    pacs = OrthancProcess(os.path.join(work, "pacs"), auth=ADMIN, name="pacs",
                          config={"AuthenticationEnabled": True, "RegisteredUsers": {ADMIN[0]: ADMIN[1]}})
    try:
        lab.start()
        pacs.start()
        folder = os.path.join(work, "files")
        os.makedirs(folder)
        total = 0
        for number in range(args.studies):
            for index, data in enumerate(make_study(instances=args.instances, rows=args.size, columns=args.size,
                                                    study_date=OLD_DATE, seed=number, patient_id="BENCH%03d" % number)):
                pacs.upload(data)
                with open(os.path.join(folder, "%03d-%03d.dcm" % (number, index)), "wb") as handle:
                    handle.write(data)
                total += len(data)
        orthanc = OrthancClient(pacs.url, *ADMIN)
        files_mb = total / 1e6
        # Untimed warm-up of both sides (first-use costs in Azurite and the SDK): otherwise the first timed plain
        # upload, which runs before the first archive, pays for them alone.
        plain_upload(lab.container("warmplain"), folder, args.concurrency)
        archive_all(orthanc, lab.container("warmarchive"), args.concurrency)

        rounds = []
        for number in range(args.rounds):
            # Containers are created before the timers of both sides (the plain side's used to be timed with it).
            plain, container = lab.container("plain%d" % number), lab.container("archive%d" % number)
            plain_s, _ = timed(lambda: plain_upload(plain, folder, args.concurrency))
            archive_s, results = timed(lambda: archive_all(orthanc, container, args.concurrency))
            uploaded_mb = sum(r["bytes_uploaded"] for r in results) / 1e6
            rounds.append({"plain_mb_s": round(files_mb / plain_s, 2), "archive_mb_s": round(uploaded_mb / archive_s, 2),
                           "ratio": round((uploaded_mb / archive_s) / (files_mb / plain_s), 3)})
        resume_s, results = timed(lambda: archive_all(orthanc, lab.container("archive0"), args.concurrency))
        assert sum(r["uploaded"] for r in results) == 0

        print(json.dumps({
            "instances": args.studies * args.instances, "mb": round(files_mb, 1), "concurrency": args.concurrency,
            "rounds": rounds,
            "archive_vs_plain_ratio": round(sum(r["ratio"] for r in rounds) / len(rounds), 3),
            "goal": ">= 0.8",
            "resume_all_skipped_instances_per_s": round(args.studies * args.instances / resume_s, 1),
        }, indent=2))
    finally:
        pacs.stop()
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
