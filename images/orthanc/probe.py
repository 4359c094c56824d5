"""medimaging-probe live|ready: exit 0 when Orthanc answers (an exec probe).

live and ready: GET /changes?limit=1 answers 200: Orthanc has started and its index database answers a query.
Liveness asks the database too: a connection to a database server that went away (its pod restarted, its address
gone) hangs every query until TCP gives up, minutes later, and only a restart reconnects Orthanc sooner.

An Orthanc route, not the plugin's /medimaging/health/*: orthanc-python (4.0 in Debian 12, 5.0 in Debian 13; later
lines only with Python.AllowThreads) holds its interpreter lock during every call a Python plugin makes into Orthanc,
so while the plugin waits on a cloud that drops packets (a synchronous STOW-RS through the DICOMweb client, up to its
timeout) every Python route waits too. A probe on a Python route would then mark the PACS not Ready, and kill it, for
as long as the WAN is down, while Orthanc itself still takes C-STOREs and answers its API (measured: a plugin route
answered after 7.0 s, this probe at once, during an 8 s blocked call;
tests/integration/containers/test_probe_during_blocked_plugin.py).

With AuthenticationEnabled, Orthanc asks for credentials before any route, so an httpGet probe would need a password
in the pod spec. This probe runs inside the container instead and reads the configuration the entrypoint wrote
(ORTHANC_CONFIG_DIR, same UID): Orthanc's port and its first registered user. It prints one status word as JSON.
"""
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request


# kind -> (Orthanc's route, the word printed when it answers 200)
ROUTES = {"live": ("/changes?limit=1", "alive"), "ready": ("/changes?limit=1", "ready")}


def main(argv):
    if len(argv) != 2 or argv[1] not in ROUTES:
        print("usage: medimaging-probe live|ready", file=sys.stderr)
        return 2
    path = os.path.join(os.environ.get("ORTHANC_CONFIG_DIR", "/tmp/orthanc"), "orthanc.json")
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        print("not started: %s unreadable (%s)" % (path, exc), file=sys.stderr)
        return 1
    scheme = "https" if config.get("SslEnabled") else "http"
    request = urllib.request.Request("%s://127.0.0.1:%d%s" % (
        scheme, int(config.get("HttpPort", 8042)), ROUTES[argv[1]][0]))
    users = config.get("RegisteredUsers") or {}
    if config.get("AuthenticationEnabled", True) and users:
        user, password = sorted(users.items())[0]
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    context = ssl._create_unverified_context() if scheme == "https" else None  # loopback to itself  # noqa: S323
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:  # noqa: S310
            answer.read()
            print(json.dumps({"status": ROUTES[argv[1]][1]}))
            return 0
    except urllib.error.HTTPError as exc:
        print("%s from %s" % (exc.code, ROUTES[argv[1]][0]), file=sys.stderr)
    except OSError as exc:
        print("no answer: %s" % exc, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
