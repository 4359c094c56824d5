"""DCMTK's echoscu/storescu over TLS through the site address, and HTTPS QIDO: what a modality and a viewer do."""
import base64
import io
import json
import os
import ssl
import subprocess
import urllib.request

import pydicom
from pydicom.uid import generate_uid

from lab.dicom_factory import make_study

DCMTK = "/usr/bin"  # the venv's pynetdicom ships commands of the same names with other options
AET = "ORTHANC"


def tls_options(ca_file):
    """Anonymous TLS client (nginx asks no client certificate) that trusts only the site's CA."""
    return ["+tla", "+cf", ca_file]


def echo(site, ca_file=None, timeout=30):
    host, port = site["dicom_tls"]
    return subprocess.run([os.path.join(DCMTK, "echoscu"), *tls_options(ca_file or site["ca_file"]), "-to", "5",
                           "-aec", AET, host, str(port)], capture_output=True, text=True, timeout=timeout, check=False)


def echo_plain(site, timeout=30):
    """C-ECHO without TLS on the site's port 4242 (modalities without TLS, opened to their own CIDR list)."""
    host, port = site["dicom_plain"]
    return subprocess.run([os.path.join(DCMTK, "echoscu"), "-to", "5", "-aec", AET, host, str(port)],
                          capture_output=True, text=True, timeout=timeout, check=False)


def store(site, paths, timeout=60):
    host, port = site["dicom_tls"]
    return subprocess.run([os.path.join(DCMTK, "storescu"), *tls_options(site["ca_file"]), "-to", "10",
                           "-aec", AET, host, str(port), *paths], capture_output=True, text=True, timeout=timeout,
                          check=False)


def write_study(folder, instances=3):
    """A new study as Part 10 files in folder: (its StudyInstanceUID, the paths)."""
    os.makedirs(folder, exist_ok=True)
    study_uid = generate_uid()
    paths = []
    for number, data in enumerate(make_study(instances, study_uid=study_uid)):
        paths.append(os.path.join(folder, "%d.dcm" % number))
        with open(paths[-1], "wb") as out:
            out.write(data)
    return study_uid, paths


def https_request(site, password, path, accept="application/json", body=None):
    """GET (POST with a JSON body) path through the site's HTTPS address as Orthanc's admin: the answer's body."""
    login = base64.b64encode(b"admin:" + password.encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(site["https"] + path, data=data,
                                     headers={"Authorization": "Basic " + login, "Accept": accept})
    context = ssl.create_default_context(cafile=site["ca_file"])
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310 (https, our CA)
        return answer.read()


def qido_study(site, password, study_uid):
    """The study's QIDO-RS answer (a list, empty when unknown) through the site's HTTPS address."""
    body = https_request(site, password, "/dicom-web/studies?StudyInstanceUID=" + study_uid, "application/dicom+json")
    return json.loads(body) if body else []


def study_files(site, password, study_uid):
    """{SOPInstanceUID: the instance's file as Orthanc serves it (REST /instances/ID/file)} through the site."""
    ids = json.loads(https_request(site, password, "/tools/find", body={
        "Level": "Instance", "Query": {"StudyInstanceUID": study_uid}}))
    files = {}
    for instance in ids:
        data = https_request(site, password, "/instances/%s/file" % instance, "application/dicom")
        files[pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID] = data
    return files
