"""medimaging-probe live|ready: exit 0 when the plugin's health route answers 200 (an exec probe).

With AuthenticationEnabled, Orthanc asks for credentials before any plugin route or filter, so an httpGet probe
would need a password in the pod spec. This probe runs inside the container instead and reads the configuration
the entrypoint wrote (ORTHANC_CONFIG_DIR, same UID): Orthanc's port and its first registered user.
"""
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request


def main(argv):
    if len(argv) != 2 or argv[1] not in ("live", "ready"):
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
    request = urllib.request.Request("%s://127.0.0.1:%d/medimaging/health/%s" % (
        scheme, int(config.get("HttpPort", 8042)), argv[1]))
    users = config.get("RegisteredUsers") or {}
    if config.get("AuthenticationEnabled", True) and users:
        user, password = sorted(users.items())[0]
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    context = ssl._create_unverified_context() if scheme == "https" else None  # loopback to itself  # noqa: S323
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:  # noqa: S310
            print(answer.read().decode(errors="replace").strip())
            return 0
    except urllib.error.HTTPError as exc:
        print("%s: %s" % (exc.code, exc.read().decode(errors="replace").strip()), file=sys.stderr)
    except OSError as exc:
        print("no answer: %s" % exc, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
