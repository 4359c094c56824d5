#!/usr/bin/env python3
"""Run everything `make test` runs as independent parts, several at once, longest first.

A part is one command with its own log (tests/output/logs/<part>.log): the unit tests, each integration folder
(a folder's subfolders, or the files of a folder listed in SPLIT_BY_FILE, when one part would hold the rest back),
each molecule scenario, sanity, lint, the build check and the docs. Most integration time is spent waiting for servers,
containers and clusters, not computing, so on 2 cores three parts at once finish far sooner than one after the
other. Parts never share a server: each pytest process starts its own labs, clusters and hosts (names and
subnets per folder, free ports), and molecule gets its own LAB_DIR.

The order is longest first, from the seconds each part took last time (scripts/test-durations.json, rewritten
by --record); a part not listed there counts as DEFAULT_SECONDS. A failing part does not stop the others: the run
ends with every failure's log tail and a table of the parts' times, and exits 1 if any part failed.

    python scripts/test_parts.py [--jobs N] [--record] [--list] [PART_PREFIX ...]
"""
import argparse
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEGRATION = os.path.join("tests", "integration")
DURATIONS = os.path.join(REPO, "scripts", "test-durations.json")
LOGS = os.path.join(REPO, "tests", "output", "logs")
DEFAULT_SECONDS = 60
TAIL_LINES = 120
# Folders whose files are long enough to be parts of their own (each file then starts its own fixtures).
SPLIT_BY_FILE = {"badinput", "openshift_pacs", "router"}
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--durations=10"]


def _has_tests(folder):
    return any(name.startswith("test_") and name.endswith(".py") for name in os.listdir(folder))


def integration_parts():
    """(name, relative path) for every integration part."""
    parts = []
    root = os.path.join(REPO, INTEGRATION)
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if not os.path.isdir(folder) or name.startswith(("_", ".")):
            continue
        subfolders = [sub for sub in sorted(os.listdir(folder))
                      if os.path.isdir(os.path.join(folder, sub)) and _has_tests(os.path.join(folder, sub))]
        if subfolders:
            parts += [(f"integration/{name}/{sub}", os.path.join(INTEGRATION, name, sub)) for sub in subfolders]
        elif name in SPLIT_BY_FILE:
            parts += [(f"integration/{name}/{file[:-3]}", os.path.join(INTEGRATION, name, file))
                      for file in sorted(os.listdir(folder)) if file.startswith("test_") and file.endswith(".py")]
        elif _has_tests(folder):
            parts.append((f"integration/{name}", os.path.join(INTEGRATION, name)))
    return parts


def molecule_scenarios():
    root = os.path.join(REPO, "molecule")
    return sorted(name for name in os.listdir(root) if os.path.isfile(os.path.join(root, name, "molecule.yml")))


def all_parts():
    """name -> (argv, extra environment)."""
    # One folder per checkout: a developer's run and a CI-like clone's run on one machine never share it.
    checkout = hashlib.sha256(REPO.encode()).hexdigest()[:8]
    basetemp = os.path.join(tempfile.gettempdir(), f"medimaging-test-parts-{checkout}")
    os.makedirs(basetemp, exist_ok=True)  # pytest makes --basetemp itself, not its parents
    parts = {"unit": (PYTEST + [f"--basetemp={basetemp}/unit", os.path.join("tests", "unit")], {})}
    for name, path in integration_parts():
        parts[name] = (PYTEST + [f"--basetemp={basetemp}/{name.replace('/', '_')}", path], {})
    # molecule's prepare starts a lab when none runs in LAB_DIR: each scenario its own folder, so no other part
    # sees (or stops) it; the scenarios' hosts carry their own labels.
    for scenario in molecule_scenarios():
        parts[f"molecule/{scenario}"] = (["molecule", "test", "-s", scenario],
                                         {"LAB_DIR": os.path.join(basetemp, f"molecule-{scenario}-lab")})
    parts["sanity"] = (["bash", "scripts/run-sanity.sh"], {})
    parts["lint"] = (["bash", "-c", "ansible-lint --profile production && yamllint -s ."], {})
    parts["build"] = (["bash", "scripts/check-build.sh"], {})
    parts["docs"] = (["bash", "docs/build.sh"], {})  # Sphinx warnings are errors
    return parts


def _known_durations():
    try:
        with open(DURATIONS, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


class Runner:
    def __init__(self, parts, jobs, durations, timeout):
        self.timeout = timeout
        self.queue = sorted(parts, key=lambda name: -durations.get(name, DEFAULT_SECONDS))
        self.parts = parts
        self.jobs = jobs
        self.results = {}
        self.lock = threading.Lock()

    def _next(self):
        with self.lock:
            return self.queue.pop(0) if self.queue else None

    def _run(self, name):
        argv, extra = self.parts[name]
        log_path = os.path.join(LOGS, name.replace("/", "__") + ".log")
        env = dict(os.environ, **extra)
        started = time.monotonic()
        with open(log_path, "w", encoding="utf-8") as log:
            log.write(f"$ {shlex.join(argv)}\n")
            log.flush()
            process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                rc = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                rc = self._stop_hung(process, log)
        seconds = time.monotonic() - started
        with self.lock:
            self.results[name] = (rc, seconds, log_path)
            print(f"{'PASS' if rc == 0 else 'FAIL'} {name:48s} {seconds:6.0f} s", flush=True)

    def _stop_hung(self, process, log):
        """A part past its time is stopped (its whole process group), so one hang cannot eat CI's budget."""
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        log.write(f"\n*** stopped after {self.timeout} s (TEST_PART_TIMEOUT): the part hung or is far too slow\n")
        return 124

    def _worker(self):
        while (name := self._next()) is not None:
            self._run(name)

    def run(self):
        os.makedirs(LOGS, exist_ok=True)
        workers = [threading.Thread(target=self._worker) for _ in range(self.jobs)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return self.results


def _tail(path, lines):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


def report(results, wall):
    failed = [name for name, (rc, _, _) in results.items() if rc != 0]
    for name in failed:
        rc, _, log_path = results[name]
        print(f"\n===== {name} failed (rc={rc}); last {TAIL_LINES} lines of {os.path.relpath(log_path, REPO)} =====")
        print(_tail(log_path, TAIL_LINES), end="")
    total = sum(seconds for _, seconds, _ in results.values())
    print("\npart                                              seconds  rc")
    for name, (rc, seconds, _) in sorted(results.items(), key=lambda item: -item[1][1]):
        print(f"{name:48s} {seconds:8.0f}  {rc}")
    print(f"wall {wall:.0f} s for {total:.0f} s of parts (ratio {total / wall if wall else 0:.2f})")
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "3")),
                        help="parts at once (default: $TEST_JOBS or 3)")
    parser.add_argument("--timeout", type=int, default=int(os.environ.get("TEST_PART_TIMEOUT", "1500")),
                        help="seconds after which a part is stopped and failed (default: $TEST_PART_TIMEOUT or 1500)")
    parser.add_argument("--record", action="store_true", help=f"write the parts' seconds to {DURATIONS}")
    parser.add_argument("--list", action="store_true", help="print the parts in the order they would start")
    parser.add_argument("prefixes", nargs="*", help="run only the parts whose names start with one of these")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be 1 or more, not {args.jobs}")
    parts = all_parts()
    if args.prefixes:
        parts = {name: part for name, part in parts.items() if name.startswith(tuple(args.prefixes))}
        if not parts:
            parser.error(f"no part starts with {' or '.join(args.prefixes)}; see --list")
    durations = _known_durations()
    runner = Runner(parts, args.jobs, durations, args.timeout)
    if args.list:
        for name in runner.queue:
            print(f"{durations.get(name, DEFAULT_SECONDS):6.0f} s  {name}")
        return 0
    print(f"{len(parts)} parts, {args.jobs} at once; logs in {os.path.relpath(LOGS, REPO)}/", flush=True)
    started = time.monotonic()
    results = runner.run()
    failed = report(results, time.monotonic() - started)
    if args.record:
        durations.update({name: round(seconds) for name, (_, seconds, _) in results.items()})
        with open(DURATIONS, "w", encoding="utf-8") as handle:
            json.dump(dict(sorted(durations.items())), handle, indent=1)
            handle.write("\n")
    if failed:
        print(f"make test: {len(failed)} part(s) FAILED: {' '.join(failed)}", file=sys.stderr)
        return 1
    print("make test: all parts passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
