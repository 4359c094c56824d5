"""The project's Orthanc image: its size beside the Debian base's, and seconds from `podman run` to ready.

Builds (or reuses, by their inputs) localhost/medimaging/orthanc:trixie and the bases it is built on, then starts
the image `--runs` times under a random UID in group 0 (as OpenShift would), each a fresh container with its
SQLite index and a read-only root, and measures from just before `podman run` until the plugin's readiness route
(/medimaging/health/ready: Orthanc started and its index answers) says 200 on the published port, polled every
0.05 s; then times one exec probe (medimaging-probe ready, what a Kubernetes exec probe runs). Prints JSON from
this one run: sizes in MB (podman's image size: every layer, uncompressed), the image's size relative to the
Debian base, start seconds (median/min/max) and the 1-minute load average (the machine is shared: read times
beside it). Not part of make test.
"""
import argparse
import base64
import json
import os
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab.containers import images  # noqa: E402
from lab.containers.runtime import owner_label, podman, remove_labelled  # noqa: E402
from lab.proc import free_port  # noqa: E402

OWNER = "bench-orthanc-image"


USER, PASSWORD = "bench", "bench-password-1"


def ready(url):
    request = urllib.request.Request(url, headers={
        "Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310 - loopback only
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_seconds(tag, timeout=60.0):
    """(seconds from `podman run` to ready, seconds of one exec probe once ready)."""
    name = f"{OWNER}-{uuid.uuid4().hex[:6]}"
    uid = 1000000000 + random.randrange(32768)
    port = free_port()
    began = time.monotonic()
    podman("run", "-d", "--name", name, "--label", owner_label(OWNER), "--user", f"{uid}:0", "--read-only",
           "-p", f"127.0.0.1:{port}:8042", "-e", 'ORTHANC__REGISTERED_USERS={"%s": "%s"}' % (USER, PASSWORD), tag)
    try:
        while not ready(f"http://127.0.0.1:{port}/medimaging/health/ready"):
            if time.monotonic() - began > timeout:
                raise RuntimeError(f"{name} not ready after {timeout:.0f} s: "
                                   f"{podman('logs', name).stderr.decode()[-800:]}")
            time.sleep(0.05)
        started = time.monotonic() - began
        probe_began = time.monotonic()
        podman("exec", name, "medimaging-probe", "ready")
        return started, time.monotonic() - probe_began
    finally:
        podman("rm", "-f", "-v", name, check=False)


def summary(values):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    remove_labelled(OWNER)
    tag = images.ensure("orthanc", log=lambda *_: None)
    sizes = {name: images.image_size_mb(images.IMAGES[name].tag)
             for name in ("debian-trixie", "orthanc-base-trixie", "orthanc")}
    try:
        runs = [start_seconds(tag) for _ in range(args.runs)]
    finally:
        remove_labelled(OWNER)
    print(json.dumps({
        "image": tag,
        "size_mb": sizes,
        "image_vs_debian_base": round(sizes["orthanc"] / sizes["debian-trixie"], 2),
        "plugin_layer_mb": round(sizes["orthanc"] - sizes["orthanc-base-trixie"], 1),
        "start_to_ready_seconds": summary([r[0] for r in runs]),
        "exec_probe_seconds": summary([r[1] for r in runs]),
        "runs": len(runs),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }, indent=2))


if __name__ == "__main__":
    main()
