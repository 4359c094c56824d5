"""The storage area's CPU per operation outside Orthanc: the plugin's StorageArea over its HttpClient against the nginx
object sink (HTTPS, lab/object_sink.py), 513 KiB objects.

Run it with the Python that orthanc-python embeds (Debian's python3.11), from the repository root:
    /usr/bin/python3.11 bench/storage_area_profile.py [--operations 400] [--size 525312] [--profile]
Prints JSON: CPU ms per create (the attachment and its 2 KB head, as Orthanc 1.10 stores them), per read, per
bare PUT, GET and HEAD of the HTTP client, and per MD5 of the body; --profile adds cProfile's top functions of
create and read. CPU is this process's (time.process_time): the sink's work is not in it.
`native_client_floor`: the same GET and PUT by curl (libcurl and OpenSSL in C, as native object-storage clients are),
one process and one kept-alive connection for all (its start-up cost subtracted): what any HTTPS client pays per
object on this machine, below which no storage area can read or write.
"""
import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO_ROOT, os.path.join(REPO_ROOT, "files", "orthanc-plugin")]

from lab.ca import LabCA  # noqa: E402
from lab.object_sink import ObjectSink  # noqa: E402
from medimaging_plugin.metrics_core import Registry  # noqa: E402
from medimaging_plugin.storage.area import StorageArea  # noqa: E402
from medimaging_plugin.storage.blob import BlobStore  # noqa: E402
from medimaging_plugin.storage.metrics import StorageMetrics  # noqa: E402


class StaticToken:
    """A bearer token already in hand (the token cache's steady state)."""

    kind = "bearer"

    def apply(self, headers):
        headers["Authorization"] = "Bearer bench"
        return None, ["bench"]


def cpu_ms(work, operations):
    work()  # warm: connections, code paths
    started = time.process_time()
    for _ in range(operations):
        work()
    return round(1000 * (time.process_time() - started) / operations, 3)


def curl_cpu_ms(urls, ca_path, workdir, upload=None):
    """CPU ms per request of one curl process doing every URL over one connection, start-up subtracted."""
    def run(count):
        config = os.path.join(workdir, "curl.cfg")
        with open(config, "w", encoding="ascii") as handle:
            for url in urls[:count]:
                handle.write('url = "%s"\noutput = "/dev/null"\n' % url)
                if upload:
                    handle.write('upload-file = "%s"\n' % upload)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["curl", "--silent", "--fail", "--cacert", ca_path, "--config", config], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return round(1000 * (run(len(urls)) - run(1)) / (len(urls) - 1), 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=400)
    parser.add_argument("--size", type=int, default=513 * 1024)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-storage-profile-")
    ca = LabCA(os.path.join(work, "ca"))
    ca.ensure()
    sink = ObjectSink(os.path.join(work, "sink"), *ca.issue_server_cert("sink")).start()
    try:
        store = BlobStore(sink.url("account/orthanc"), StaticToken(), "2025-11-05", ca_bundle=ca.cert_path)
        area = StorageArea(store, StorageMetrics(Registry()))
        body = os.urandom(args.size)
        head = body[:2048]
        read_id = str(uuid.uuid4())
        area.create(read_id, 1, body)
        url = "%s/%s.dcm" % (store.container_url, read_id)

        def create():
            attachment = str(uuid.uuid4())  # Orthanc never overwrites: a new name each time
            area.create(attachment, 1, body)
            area.create(attachment, 3, head)

        def read():
            assert len(area.read(read_id, 1)) == args.size

        result = {"python": sys.version.split()[0], "object_bytes": args.size, "operations": args.operations,
                  "cpu_ms_per_operation": {
                      "create_file_and_head": cpu_ms(create, args.operations),
                      "read": cpu_ms(read, args.operations),
                      "http_put": cpu_ms(lambda: store.http.request(
                          "PUT", "%s/%s.dcm" % (store.container_url, uuid.uuid4()), data=body), args.operations),
                      "http_get": cpu_ms(lambda: store.http.request("GET", url), args.operations),
                      "http_head": cpu_ms(lambda: store.http.request("HEAD", url), args.operations),
                      "md5_of_body": cpu_ms(lambda: hashlib.md5(body).digest(), args.operations)},  # noqa: S324
                  "native_client_floor": {}}
        if shutil.which("curl"):
            source = os.path.join(work, "body")
            with open(source, "wb") as handle:
                handle.write(body)
            puts = ["%s/curl-%d.dcm" % (store.container_url, n) for n in range(args.operations + 1)]
            result["native_client_floor"] = {
                "curl_put_cpu_ms": curl_cpu_ms(puts, ca.cert_path, work, upload=source),
                "curl_get_cpu_ms": curl_cpu_ms([url] * (args.operations + 1), ca.cert_path, work)}
        if args.profile:
            for name, operation in (("create", create), ("read", read)):
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.operations):
                    operation()
                profile.disable()
                text = io.StringIO()
                pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
                result["profile_" + name] = [line for line in text.getvalue().splitlines() if line.strip()][-13:]
        print(json.dumps(result, indent=2))
    finally:
        sink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
