"""DCMTK's echoscu/storescu over TLS through the site address, and HTTPS QIDO: what a modality and a viewer do."""
import base64
import json
import os
import ssl
import subprocess
import urllib.request

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


def qido_study(site, password, study_uid):
    """The study's QIDO-RS answer (a list, empty when unknown) through the site's HTTPS address."""
    login = base64.b64encode(b"admin:" + password.encode()).decode()
    request = urllib.request.Request(site["https"] + "/dicom-web/studies?StudyInstanceUID=" + study_uid,
                                     headers={"Authorization": "Basic " + login, "Accept": "application/dicom+json"})
    context = ssl.create_default_context(cafile=site["ca_file"])
    with urllib.request.urlopen(request, timeout=15, context=context) as answer:  # noqa: S310 (https, our CA)
        body = answer.read()
    return json.loads(body) if body else []
