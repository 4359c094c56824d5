"""Connection reuse of the storage area, counted at a real server: Orthanc's attachments go to nginx over HTTPS
(lab/object_sink.py, one access-log line per request with nginx's connection serial and $ssl_session_reused).

orthanc-python gives every storage callback a fresh Python thread state, so a connection kept per thread was a new
TCP + TLS handshake per object. With the pool shared by Orthanc's threads, a C-STORE burst on two associations and
parallel reads travel on at most MaxConnections kept-alive connections, and a connection opened after the first
resumes its TLS session.
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor

from storage_lab import c_store, make_files, md5, start_orthanc

from lab.object_sink import ObjectSink

MAX_CONNECTIONS = 3


def test_burst_and_reads_share_few_kept_alive_connections(orthanc_factory, storage_lab, tmp_path):
    sink = ObjectSink(str(tmp_path / "sink"), *storage_lab.blob.ca.issue_server_cert("sink"),
                      log_connections=True).start()
    try:
        section = storage_lab.blob_section(RootPath="pool", ContainerUrl=sink.url("account/orthanc"),
                                           MaxConnections=MAX_CONNECTIONS)
        orthanc = start_orthanc(orthanc_factory, "pacs-pool", section)
        files = make_files(24, seed=11)
        assert [s for _sop, _md5, s in c_store(orthanc.dicom_port, files[:1])] == [0]  # first connection
        with ThreadPoolExecutor(max_workers=2) as pool:  # two associations: two of Orthanc's DICOM threads
            sent = [r for chunk in pool.map(lambda c: c_store(orthanc.dicom_port, c), (files[1::2], files[2::2]))
                    for r in chunk]
        assert [s for _sop, _md5, s in sent] == [0] * 23, sent
        ids = orthanc.get_json("/instances")
        stored = {i: orthanc.request("GET", "/instances/%s/attachments/dicom/md5" % i).text.strip() for i in ids}
        with ThreadPoolExecutor(max_workers=4) as pool:  # four of Orthanc's HTTP threads read at once
            read = dict(pool.map(lambda i: (i, md5(orthanc.request("GET", "/instances/%s/file" % i).content)), ids))
        assert read == stored

        requests = sink.requests()
        deadline = time.monotonic() + 10
        while sum(r[2] == "GET" for r in requests) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)  # nginx logs a request after its answer is sent
            requests = sink.requests()
        puts = [r for r in requests if r[2] == "PUT"]
        gets = [r for r in requests if r[2] == "GET"]
        # Orthanc 1.10 writes two attachments per instance (the file and its dicom-until-pixel-data head)
        assert len(puts) >= 24 and len(gets) >= 24 and all(status < 300 for _c, _r, _m, status in requests)
        connections = sorted({serial for serial, _r, _m, _s in requests})
        assert len(connections) <= MAX_CONNECTIONS, (len(connections), len(requests))
        first = {}
        for serial, reused, _m, _s in requests:
            first.setdefault(serial, reused)
        # every connection after the first resumed the TLS session of an earlier one (no full handshake)
        assert [first[serial] for serial in connections[1:]] == [True] * (len(connections) - 1), first
    finally:
        sink.stop()
    assert not os.path.exists(os.path.join(sink.work, "objects"))
