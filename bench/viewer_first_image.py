"""Benchmark (not a test): seconds from opening a study URL to its first rendered, non-black image, on-prem viewer
(nginx -> Orthanc on this machine) versus cloud viewer (nginx + token broker -> the Azure emulator's DICOM service),
both deployed by the ohif_viewer role, in Debian's chromium.

Prints, from one run: per viewer the median and spread over --rounds openings (a fresh browser context each time, so
nothing is cached), and the ratio cloud / on-prem. Rounds alternate between the two so drift on a shared machine hits
both alike. The lab's "cloud" is on 127.0.0.1: the ratio shows the cost of the token hop and the emulator's proxy,
not a WAN's latency.

Usage: .venv/bin/python bench/viewer_first_image.py [--rounds 5]
"""
import argparse
import os
import statistics
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from lab.viewer import browser  # noqa: E402
from lab.viewer.world import ORTHANC_LOGIN, VIEWER_LOGIN, viewer_world  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    seconds = {"onprem": [], "cloud": []}
    with tempfile.TemporaryDirectory(prefix="bench-viewer-") as work:
        with viewer_world(work, bad_viewers=False, idempotence_run=False) as world, browser.chromium() as chromium:
            targets = {"onprem": (ORTHANC_LOGIN, world["onprem_studies"]),
                       "cloud": (VIEWER_LOGIN, world["cloud_studies"])}
            for round_ in range(args.rounds):
                for name, (login, studies) in targets.items():
                    page = browser.new_page(chromium, login)
                    took, _ = browser.open_study(page, world["viewers"].url(name),
                                                 studies[round_ % len(studies)].study_uid)
                    seconds[name].append(took)
                    page.context.close()
    for name, values in seconds.items():
        print(f"{name:7s} first image: median {statistics.median(values):.2f} s "
              f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})")
    print(f"cloud / on-prem: {statistics.median(seconds['cloud']) / statistics.median(seconds['onprem']):.2f}")


if __name__ == "__main__":
    main()
