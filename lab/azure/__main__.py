"""Run the emulator in the foreground: python -m lab.azure [--lab-dir DIR] (the launcher daemonizes it)."""
import argparse
import os
import signal
import sys
import threading

from lab.azure.config import LabLayout
from lab.azure.emulator import Emulator
from lab.azure.web import LabHttpsServer
from lab.proc import LOOPBACK


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.azure", description=__doc__)
    parser.add_argument("--lab-dir", default=None, help="lab directory (default: $LAB_DIR or <repo>/.lab)")
    parser.add_argument("--settle", type=float, default=float(os.environ.get("LAB_AZURE_SETTLE", "0.3")),
                        help="seconds an LRO stays in progress before provisioning (default 0.3)")
    parser.add_argument("--retry-after", type=int, default=int(os.environ.get("LAB_AZURE_RETRY_AFTER", "1")),
                        help="Retry-After seconds in LRO answers (default 1)")
    parser.add_argument("--token-lifetime", type=int, default=int(os.environ.get("LAB_TOKEN_LIFETIME", "3600")))
    args = parser.parse_args(argv)
    layout = LabLayout(args.lab_dir)
    emulator = Emulator(layout, settle_seconds=args.settle, retry_after=args.retry_after,
                        token_lifetime=args.token_lifetime)
    port = emulator.facts["ports"]["emulator"]
    server = LabHttpsServer((LOOPBACK, port), emulator, emulator.server_cert, emulator.server_key)
    stopping = threading.Event()

    def stop(_signum, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=server.serve_forever, name="https", daemon=True).start()
    emulator.resume()
    print(f"lab azure emulator listening on https://{LOOPBACK}:{port}", flush=True)
    stopping.wait()
    server.shutdown()
    emulator.shutdown()  # data planes it started (Orthancs) stop with it
    return 0


if __name__ == "__main__":
    sys.exit(main())
