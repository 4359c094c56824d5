"""The modality and the viewer of bench/storage_area.py, kept cheap so that they do not weigh on what is measured.

The modality sends each file's bytes as they are (pynetdicom's STORE_SEND_CHUNKED_DATASET: no pydicom decode and
re-encode per instance), TCP_NODELAY on its socket (LAB-NOTES: Nagle makes C-STORE 5x slower). The reader keeps one
HTTP connection per thread and reads each body once (requests would re-join it from 10 KiB chunks).
"""
import base64
import http.client
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage

EXPLICIT_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"


def write_files(folder, files):
    """The DICOM bytes as files (the modality sends paths); returns the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for number, data in enumerate(files):
        path = os.path.join(folder, "%05d.dcm" % number)
        with open(path, "wb") as handle:
            handle.write(data)
        paths.append(path)
    return paths


def c_store_paths(port, paths):
    """One association, one C-STORE per path; returns the statuses (None: no answer)."""
    _config.STORE_SEND_CHUNKED_DATASET = True
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage, [EXPLICIT_LITTLE_ENDIAN])
    assoc = ae.associate("127.0.0.1", port, ae_title="PACS")
    assert assoc.is_established, "no association with the PACS"
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    statuses = []
    try:
        for path in paths:
            statuses.append(getattr(assoc.send_c_store(path), "Status", None))
    finally:
        if assoc.is_established:
            assoc.release()
    return statuses


def ingest(port, paths, associations):
    """C-STORE every path over `associations` parallel associations; all must succeed."""
    chunks = [paths[i::associations] for i in range(associations)]
    with ThreadPoolExecutor(max_workers=associations) as pool:
        statuses = [s for chunk in pool.map(lambda c: c_store_paths(port, c), chunks) for s in chunk]
    assert statuses == [0] * len(paths), "a C-STORE failed: %s" % statuses


class Reader:
    """GET of Orthanc URLs with Basic auth over one kept-alive connection per thread."""

    def __init__(self, port, auth):
        self.port = port
        self.header = {"Authorization": "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()}
        self.local = threading.local()

    def get(self, path, accept=None):
        headers = dict(self.header, Accept=accept) if accept else self.header
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more on a new one
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                continue
            if answer.will_close:
                conn.close()
                self.local.conn = None
            assert answer.status == 200, (path, answer.status)
            return len(body)
        raise AssertionError("unreachable")

    def read_all(self, paths, threads, accept=None):
        """Bytes read, every path once, `threads` at a time."""
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return sum(pool.map(lambda path: self.get(path, accept), paths))


WADO_RS_ACCEPT = 'multipart/related; type="application/dicom"'


def wado_rs_paths(orthanc):
    """/dicom-web/studies/S/series/R/instances/I of every instance (the DICOMweb plugin's WADO-RS retrieve)."""
    uids = {}
    for series in orthanc.get_json("/series?expand"):
        study = orthanc.get_json("/studies/%s" % series["ParentStudy"])["MainDicomTags"]["StudyInstanceUID"]
        uids[series["ID"]] = (study, series["MainDicomTags"]["SeriesInstanceUID"])
    return ["/dicom-web/studies/%s/series/%s/instances/%s" % (uids[i["ParentSeries"]] + (
        i["MainDicomTags"]["SOPInstanceUID"],)) for i in orthanc.get_json("/instances?expand")]
