"""Benchmark (not a test): seconds to converge each Container Apps scenario in the lab, and the requests a no-op
converge sends (issue 17: "one read per resource and no write").

Each scenario (quickstart, production) gets a throwaway lab of its own (PostgreSQL, Azurite, the Azure emulator, the
app's replicas as containers of the project's image), converged twice with the scenario's playbook and lab
inventory, through the same runner as its integration tests (tests/integration/container_app*/conftest.py). The
second run's requests are read from the emulator's request log: ARM reads (GET, and the POSTs that only read:
listSecrets, sharedKeys) per resource path, ARM writes, and the other endpoints (Key Vault, Graph, tokens, DICOM) by
kind. Prints one JSON document; exit status 1 when a converge fails or a no-op converge writes or reads a resource
twice.

Usage: .venv/bin/python bench/container_app_converge.py [quickstart|production ...]
"""
import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from lab.containers import images  # noqa: E402
from lab.throwaway import throwaway_lab  # noqa: E402

TESTS = os.path.join(REPO_ROOT, "tests", "integration")
RUNNERS = {"quickstart": os.path.join(TESTS, "container_app", "conftest.py"),
           "production": os.path.join(TESTS, "container_app_production", "conftest.py")}
READING_POSTS = ("/listsecrets", "/sharedkeys", "/listkeys")
# Polls of a long-running operation: a no-op converge should make none.
POLLS = ("/operationresults/", "/operationstatuses/", "/azureasyncoperation")


def load(scenario):
    """The scenario's test runner (its conftest.py, loaded by path as the production tests load the quickstart's)."""
    spec = importlib.util.spec_from_file_location("container_app_bench_" + scenario, RUNNERS[scenario])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kind(path):
    lower = path.lower()
    if lower.startswith("/subscriptions/"):
        return "arm"
    for prefix, name in (("/v1.0/", "graph"), ("/secrets", "key_vault"), ("/keys", "key_vault"), ("/msi/", "msi_token"),
                         ("/dicom/", "dicom"), ("/_lab/", "lab_oidc")):
        if lower.startswith(prefix):
            return name
    return "entra_id"  # /{tenant}/...: token requests and discovery


def measure(sent, subscription_id):
    """A run's requests: ARM reads per resource path (relative to the subscription), ARM writes, other kinds."""
    prefix = "/subscriptions/" + subscription_id.lower()
    reads, writes, polls, others = {}, [], 0, {}
    for method, path in sent:
        name = kind(path)
        if name != "arm":
            others[name] = others.get(name, 0) + 1
            continue
        lower = path.rstrip("/").lower()
        short = lower[len(prefix):] if lower.startswith(prefix) else lower
        if any(poll in lower for poll in POLLS):
            polls += 1
        elif method == "GET" or (method == "POST" and lower.endswith(READING_POSTS)):
            reads[short] = reads.get(short, 0) + 1
        else:
            writes.append("%s %s" % (method, short))
    return {"arm_requests": sum(reads.values()) + len(writes) + polls, "resources_read": len(reads),
            "arm_reads": sum(reads.values()), "arm_writes": len(writes), "lro_polls": polls,
            "reads_per_resource": reads, "read_more_than_once": sorted(k for k, n in reads.items() if n > 1),
            "write_requests": writes, "other_requests": others,
            "goal_met": bool(reads) and not writes and not polls and set(reads.values()) == {1}}


def bench(scenario):
    runner = load(scenario)
    with throwaway_lab("medimaging-bench-%s-" % scenario) as lab, tempfile.TemporaryDirectory() as workdir:
        env = lab.env()
        if scenario == "production":
            the_lab = runner.ProductionLab(env, workdir)
            converge = the_lab.converge
        else:
            the_lab = runner.QuickstartLab(env, workdir)
            converge = the_lab.playbook
        started = time.monotonic()
        first = converge(label="first")
        first_seconds = time.monotonic() - started
        started = time.monotonic()
        second = converge(label="second")
        second_seconds = time.monotonic() - started
        report = {"first_converge_seconds": round(first_seconds, 1), "first_changed": first[1]["changed"],
                  "noop_converge_seconds": round(second_seconds, 1), "noop_changed": second[1]["changed"],
                  "noop_requests": measure(second[2], env["subscription_id"]),
                  "load_average_after": round(os.getloadavg()[0], 1)}
        report["goal_met"] = report["noop_changed"] == 0 and report["noop_requests"]["goal_met"]
        return report


def main(argv):
    names = argv or list(RUNNERS)
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        sys.exit("unknown scenario(s) %s: choose among %s" % (", ".join(unknown), ", ".join(RUNNERS)))
    images.ensure("orthanc")
    report = {"goal": "a no-op converge: changed=0, one read per resource, no write", "scenarios": {},
              "load_average_before": round(os.getloadavg()[0], 1)}
    for name in names:
        try:
            with contextlib.redirect_stdout(sys.stderr):  # the runner's progress lines; stdout is the JSON
                report["scenarios"][name] = bench(name)
        except (AssertionError, OSError, KeyError, IndexError) as err:  # a failed converge: say so, bench the next
            report["scenarios"][name] = {"error": str(err)[-3000:], "goal_met": False}
    report["goal_met"] = all(r["goal_met"] for r in report["scenarios"].values())
    print(json.dumps(report, indent=2))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
