"""Process primitives for the lab: free ports, daemons with pidfiles, readiness waits, stop by PID."""
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

LOOPBACK = "127.0.0.1"


class LabError(RuntimeError):
    """A lab service could not be started or reached; the message says what to do."""


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_in_use(port, host=LOOPBACK):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_daemon(argv, logfile, pidfile=None, env=None, cwd=None):
    """Start argv detached from our session, output to logfile; record its PID in pidfile. Returns the PID."""
    os.makedirs(os.path.dirname(os.path.abspath(logfile)), exist_ok=True)
    with open(logfile, "ab") as log:
        child = subprocess.Popen(  # noqa: S603 - argv is built by the lab, never from user input
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, start_new_session=True)
    if pidfile:
        with open(pidfile, "w", encoding="ascii") as handle:
            handle.write(str(child.pid))
    return child.pid


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): reap it if we can.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def read_pidfile(pidfile):
    try:
        with open(pidfile, encoding="ascii") as handle:
            return int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def stop_pid(pid, timeout=15.0):
    """SIGTERM, wait, then SIGKILL. Returns True when the process is gone."""
    if not pid_alive(pid):
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    time.sleep(0.2)
    return not pid_alive(pid)


def wait_for_port(host, port, timeout=30.0, pid=None, logfile=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_in_use(port, host):
            return
        _check_still_running(pid, logfile)
        time.sleep(0.1)
    raise LabError(f"nothing listens on {host}:{port} after {timeout:.0f}s{_log_hint(logfile)}")


def wait_for_http(url, timeout=30.0, pid=None, logfile=None, auth=None, cafile=None, accept=(200, 401, 403)):
    """Wait until url answers with one of the accepted status codes."""
    context = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        _check_still_running(pid, logfile)
        request = urllib.request.Request(url)
        if auth:
            request.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(request, timeout=2, context=context) as answer:  # noqa: S310 - lab URLs only
                if answer.status in accept:
                    return answer.status
        except urllib.error.HTTPError as err:
            if err.code in accept:
                return err.code
            last = f"HTTP {err.code}"
        except (urllib.error.URLError, OSError) as err:
            last = str(err)
        time.sleep(0.15)
    raise LabError(f"{url} did not answer after {timeout:.0f}s (last: {last}){_log_hint(logfile)}")


def _check_still_running(pid, logfile):
    if pid and not pid_alive(pid):
        raise LabError(f"process {pid} exited during start-up{_log_hint(logfile)}")


def _log_hint(logfile):
    if not logfile or not os.path.exists(logfile):
        return ""
    with open(logfile, "rb") as handle:
        handle.seek(max(0, os.path.getsize(logfile) - 1500))
        tail = handle.read().decode("utf-8", "replace")
    return f"; see {logfile}, which ends with:\n{tail}"
