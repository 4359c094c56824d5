"""Benchmark (not a test): the plugin's token refresh under a sustained STOW load, on 127.0.0.1.

Prints, from one run:
- token acquisitions: per token lifetime (ttl / (ttl - margin) by design: each token is replaced
  `margin` seconds before it expires), against the count the schedule allows, and per distinct
  token the cloud accepted (goal: exactly 1: every acquisition is used, none is redundant);
- STOW throughput through the plugin-managed server versus the same cloud server registered with a
  static Authorization header (goal: ratio >= 0.95). Rounds alternate between the two so drift
  on a shared machine hits both alike.

Usage: .venv/bin/python bench/token_refresh.py [--seconds 60] [--ttl 10] [--margin 3] [--batch 20] [--size 512]
Needs what the plugin's integration tests need (Node 22 + oauth2-mock-server in .cache/node, the
plugin venv in .cache/plugin-venv).
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "integration", "plugin"))

import requests  # noqa: E402

from plugin_harness import CLIENT_ID, SCOPE, PluginLab, missing_prerequisites  # noqa: E402
from lab.dicom_factory import make_instance  # noqa: E402


def static_token(lab, lifetime):
    """A long-lived token fetched once, as an operator pasting a header would."""
    answer = requests.post(lab.tokens.url + "/token", verify=lab.ca.cert_path, timeout=10,
                           data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                 "client_secret": lab.client_secret, "scope": SCOPE, "ttl": str(lifetime)})
    answer.raise_for_status()
    return answer.json()["access_token"]


def stow_round(lab, server, ids, seconds):
    sent = failed = 0
    end = time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < end:
        answer = lab.stow(server, ids)
        if answer.status_code == 200 and not answer.json().get("FailedInstancesCount"):
            sent += len(ids)
        else:
            failed += 1
    return sent, failed, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="total STOW time, both servers")
    parser.add_argument("--ttl", type=int, default=10, help="token lifetime in seconds")
    parser.add_argument("--margin", type=float, default=3, help="RefreshMarginSeconds")
    parser.add_argument("--jitter", type=float, default=0.5, help="RefreshJitterSeconds")
    parser.add_argument("--batch", type=int, default=20, help="instances per STOW request")
    parser.add_argument("--size", type=int, default=512, help="image rows = columns (512: a 512 KiB CT slice)")
    parser.add_argument("--round", type=float, default=5, help="seconds per alternating round")
    args = parser.parse_args()
    missing = missing_prerequisites()
    if missing:
        sys.exit("missing: " + "; ".join(missing))

    workdir = tempfile.mkdtemp(prefix="bench-token-refresh-")
    lab = PluginLab(workdir, ttl=args.ttl, margin=args.margin, jitter=args.jitter)
    try:
        lab.start()
        lab.wait_for_token("cloud")
        entry = {"Url": "%s/dicom-web/" % lab.cloud.url,
                 "HttpHeaders": {"Authorization": "Bearer " + static_token(lab, 3600)}}
        lab.onprem.request("PUT", "/dicom-web/servers/cloud-static", json=entry).raise_for_status()
        ids = [lab.onprem.upload(make_instance(patient_id="BENCH%d" % i, rows=args.size, columns=args.size))["ID"]
               for i in range(args.batch)]
        stow_round(lab, "cloud-static", ids, 1)  # warm both paths
        stow_round(lab, "cloud", ids, 1)

        before = lab.oauth_status()["servers"]["cloud"]["acquisitions"]
        tokens_before = lab.guard_stats()["distinct_tokens"]
        started = time.monotonic()
        totals = {"cloud": [0, 0, 0.0], "cloud-static": [0, 0, 0.0]}
        order = ["cloud", "cloud-static"]
        while time.monotonic() - started < args.seconds:
            for server in order:
                sent, failed, spent = stow_round(lab, server, ids, args.round / 2)
                totals[server][0] += sent
                totals[server][1] += failed
                totals[server][2] += spent
            order.reverse()
        window = time.monotonic() - started
        acquisitions = lab.oauth_status()["servers"]["cloud"]["acquisitions"] - before
        # tokens the cloud accepted for the first time during the window (the static one is older)
        tokens_used = lab.guard_stats()["distinct_tokens"] - tokens_before
    finally:
        lab.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    lead = min(args.margin, args.ttl / 2)
    shortest, longest = args.ttl - lead - min(args.jitter, lead / 2), args.ttl - lead
    rate = {name: sent / spent for name, (sent, failed, spent) in totals.items()}
    result = {
        "window_seconds": round(window, 1),
        "token_lifetime_seconds": args.ttl,
        "refresh_margin_seconds": args.margin,
        "token_acquisitions": acquisitions,
        "acquisitions_per_token_lifetime": round(acquisitions * args.ttl / window, 3),
        "acquisitions_expected_by_schedule": [math.floor(window / longest), math.ceil(window / shortest)],
        "new_tokens_seen_by_cloud": tokens_used,
        "acquisitions_per_token_used": round(acquisitions / tokens_used, 3) if tokens_used else None,
        "stow_instances_per_second": {name: round(value, 1) for name, value in rate.items()},
        "stow_instances_sent": {name: totals[name][0] for name in totals},
        "stow_failed_requests": {name: totals[name][1] for name in totals},
        "stow_throughput_ratio_managed_vs_static": round(rate["cloud"] / rate["cloud-static"], 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
