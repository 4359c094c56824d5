"""A corpus of DICOM files this project did not write (the files pydicom ships for its own tests, only those
installed locally: nothing is downloaded), the modality side that sends them (DCMTK's storescu and
pynetdicom, with the presentation context each file needs) and Azure's STOW rules stated again, on purpose
independently of lab/azure/dicom_conformance.py, to say what the cloud must end up with."""
import io
import os
import re
import socket
import subprocess
import warnings

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian

IMPLICIT_OR_BIG_ENDIAN = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.2"}
DCMTK_STORESCU = "/usr/bin/storescu"  # by path: pynetdicom installs a Python `storescu` of its own in the venv
_NOT_DICOM = (".txt", ".json", ".gz", ".dump", ".icc", "README")


def pydicom_test_files():
    """Paths of the test files installed with pydicom (its own data folder; the optional pydicom-data
    downloads are never fetched)."""
    base = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
    found = []
    for root, _dirs, files in os.walk(base):
        found += [os.path.join(root, name) for name in files if not name.endswith(_NOT_DICOM)]
    return sorted(found)


# storescu's proposal option per transfer syntax: with -R (only the files' SOP classes) it proposes the file's
# own syntax in a context of its own, so the PACS can accept it as is (else DCMTK would have to decompress).
_STORESCU_PROPOSAL = {"1.2.840.10008.1.2": "-xi", "1.2.840.10008.1.2.2": "-xb", "1.2.840.10008.1.2.1.99": "-xd",
                      "1.2.840.10008.1.2.4.50": "-xy", "1.2.840.10008.1.2.4.51": "-xx", "1.2.840.10008.1.2.4.70": "-xs",
                      "1.2.840.10008.1.2.4.80": "-xt", "1.2.840.10008.1.2.4.81": "-xu", "1.2.840.10008.1.2.4.90": "-xv",
                      "1.2.840.10008.1.2.4.91": "-xw", "1.2.840.10008.1.2.5": "-xr"}


def _file_syntax(path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
    except Exception:
        return ""


def storescu(paths, port, aet="MODALITY", called="PACS"):
    """One storescu run per file, proposing that file's SOP class and transfer syntax (-R plus the matching
    -x option). Returns {path: exit code}; DCMTK refuses what it cannot read or propose, as a modality would."""
    codes = {}
    for path in paths:
        proposal = _STORESCU_PROPOSAL.get(_file_syntax(path), "-x=")
        run = subprocess.run([DCMTK_STORESCU, "-R", proposal, "-aet", aet, "-aec", called, "127.0.0.1", str(port),
                              path], capture_output=True, timeout=60, check=False)
        codes[path] = run.returncode
    return codes


def pynetdicom_send(paths, port, aet="PYNETDICOM", called="PACS"):
    """One association per file with the file's own SOP class and transfer syntax. Returns {path: status}
    (None when pydicom cannot read the file or no association was possible)."""
    from pynetdicom import AE
    statuses = {}
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path)
            sop_class, syntax = str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)
        except Exception:
            statuses[path] = None
            continue
        ae = AE(ae_title=aet)
        ae.add_requested_context(sop_class, [syntax])
        assoc = ae.associate("127.0.0.1", port, ae_title=called)
        if not assoc.is_established:
            statuses[path] = None
            continue
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            status = assoc.send_c_store(path)  # the file's own bytes, not a re-encoding by pydicom
            statuses[path] = getattr(status, "Status", None)
        except (ValueError, AttributeError, OSError):  # pynetdicom cannot send it: the modality failed
            statuses[path] = None
        finally:
            assoc.release()
    return statuses


_UID = re.compile(r"[0-9A-Za-z.\-]{1,64}")


def azure_refusal(data):
    """Why Azure's DICOM service (statement v2) refuses this file even after re-encoding to explicit VR,
    or None when it accepts it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if not _UID.fullmatch(str(ds.get(keyword, ""))):
            return "%s missing or not 1-64 of [0-9A-Za-z.-]" % keyword
    if "PatientID" not in ds:
        return "PatientID missing"
    return None


def read(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data))


def same_content(local, cloud):
    """(same, how): bytes after the preamble when the transfer syntax is unchanged, else the decoded pixel
    data (or every element when there is none) after a re-encoding to Explicit VR Little Endian."""
    a, b = read(local), read(cloud)
    ts_a, ts_b = str(a.file_meta.TransferSyntaxUID), str(b.file_meta.TransferSyntaxUID)
    if ts_a == ts_b:
        return local[128:] == cloud[128:], "bytes"
    if ts_a not in IMPLICIT_OR_BIG_ENDIAN or ts_b != ExplicitVRLittleEndian:
        return False, "unexpected re-encoding %s -> %s" % (ts_a, ts_b)
    if a.SOPInstanceUID != b.SOPInstanceUID:
        return False, "SOPInstanceUID changed"
    if "PixelData" in a:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(np.array_equal(a.pixel_array, b.pixel_array)), "pixels"
    return a == b, "elements"
