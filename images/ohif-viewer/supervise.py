"""The cloud viewer container's processes: the token broker, then nginx; when either ends, the container ends.

The entrypoint is PID 1: it forwards the runtime's stop (SIGTERM, SIGINT) to its children, reaps them (and any
orphan), and returns the container's exit code: 0 after a stop request, 1 when a process ended on its own, after
printing which one and how. A broker that died would leave nginx answering "no token" forever; an nginx that died
would leave a broker nobody asks: either way the orchestrator should see the container stop and restart it.
"""
import os
import signal
import socket
import subprocess
import sys
import time

GRACE_SECONDS = 20


def how(code):
    if code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    return f"exit code {code}"


class Supervisor:
    def __init__(self, log=None):
        self.log = log or (lambda text: print(f"ohif-viewer: {text}", file=sys.stderr, flush=True))
        self.children = {}  # pid -> (name, stop signal)
        self.stop_requested = False
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_stop)

    def _on_stop(self, signum, _frame):
        if not self.stop_requested:
            self.log(f"{signal.Signals(signum).name} received: stopping {self._names()}")
        self.stop_requested = True
        self._signal_all()

    def _names(self):
        return ", ".join(child[0] for child in self.children.values()) or "nothing else"

    def _signal_all(self):
        for pid, child in list(self.children.items()):
            try:
                os.kill(pid, child[1])
            except ProcessLookupError:
                pass

    def start(self, name, argv, stop_signal=signal.SIGTERM):
        """Start a child (same stdout/stderr as the container); its pid."""
        if self.stop_requested:
            raise SystemExit(0)
        pid = subprocess.Popen(argv).pid  # pylint: disable=consider-using-with  # reaped below by os.waitpid
        self.children[pid] = (name, stop_signal)
        return pid

    def _reap(self, flags=0):
        """(name, exit code) of one ended child, None for an orphan (PID 1 adopts them) or nothing ready."""
        pid, status = os.waitpid(-1, flags)
        if pid == 0:
            return None
        child = self.children.pop(pid, None)
        return (child[0], os.waitstatus_to_exitcode(status)) if child else None

    def wait_listening(self, pid, port, timeout=15.0):
        """Wait until the child listens on 127.0.0.1:port; False when it ended first or never listened."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = self._reap(os.WNOHANG) if pid in self.children else None
            if pid not in self.children:
                if ended:
                    self.log(f"{ended[0]} ended before listening on 127.0.0.1:{port} ({how(ended[1])})")
                return False
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.1)
        self.log(f"{self.children[pid][0]} does not listen on 127.0.0.1:{port} after {timeout:.0f} s")
        return False

    def wait(self):
        """Until a child ends (or a stop is asked); then stop the others. Returns the container's exit code."""
        first = None
        while first is None and self.children:
            first = self._reap()
        if first and not self.stop_requested:
            self.log(f"{first[0]} ended ({how(first[1])}): stopping {self._names()}; the container stops")
        return self.shutdown(0 if self.stop_requested else 1)

    def shutdown(self, code):
        """Stop every child (its stop signal, SIGKILL after the grace period) and return code."""
        self._signal_all()
        deadline = time.monotonic() + GRACE_SECONDS
        while self.children and time.monotonic() < deadline:
            if self._reap(os.WNOHANG) is None:
                time.sleep(0.1)
        for pid in list(self.children):
            os.kill(pid, signal.SIGKILL)
            self._reap()
        return code
