"""lab/object_sink.py, the benchmark's zero-cost object server: what the storage area needs of a Blob endpoint."""
import os

import requests

from lab.ca import LabCA
from lab.object_sink import ObjectSink


def test_put_head_get_delete_over_https_then_nothing_left(tmp_path):
    ca = LabCA(str(tmp_path / "ca"))
    ca.ensure()
    sink = ObjectSink(str(tmp_path / "sink"), *ca.issue_server_cert("sink")).start()
    try:
        url = sink.url("account/orthanc/root/ab/cd/abcd-uuid")
        blob_headers = {"x-ms-blob-type": "BlockBlob", "Authorization": "Bearer not-checked"}
        assert requests.put(url, data=b"DICM" * 100, headers=blob_headers, verify=ca.cert_path).status_code == 201
        head = requests.head(url, verify=ca.cert_path)
        assert (head.status_code, head.headers["Content-Length"]) == (200, "400")
        assert requests.get(url, verify=ca.cert_path).content == b"DICM" * 100
        assert sink.worker_pid() != sink.process.pid
        assert requests.delete(url, verify=ca.cert_path).status_code == 204
        assert requests.get(url, verify=ca.cert_path).status_code == 404
    finally:
        sink.stop()
    assert sink.process.poll() is not None
    assert not os.path.exists(os.path.join(sink.work, "objects"))
