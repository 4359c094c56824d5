"""What differs between the orthanc-python releases the plugin runs on, in one place (no `orthanc` import).

Orthanc 1.10 (Debian 12) ships orthanc-python 4.0 on Python 3.11; Orthanc 1.12 (Debian 13, orthancteam images)
ships 5.0 on Python 3.13. Seen in the lab (tests/integration, marked orthanc_lines):
- RestOutput.SendHttpStatus: 4.0 takes (status, body as str, body size) and refuses bytes; 5.0 takes
  (status, body as bytes) and refuses three arguments. Each raises TypeError before sending anything.
Also different, and needing nothing here (the plugin reads neither field): a synchronous
POST /dicom-web/servers/NAME/stow answers {InstancesCount, NetworkSizeMB} on DICOMweb 1.7 and adds Resources and
Server on 1.20; a STOW-RS server answer carries an empty FailedSOPSequence on 1.7 and none on 1.20
(router/stow_answer.py reads both; tests/unit/router/test_router_stow_answer_lines.py). Python 3.13's
ssl.create_default_context() adds VERIFY_X509_STRICT: CA certificates without the extensions RFC 5280 requires are
refused there (the lab's CA passes on both lines).
"""

import threading

_LOCK = threading.Lock()
_STATUS_FORMS = [
    ("5.0", lambda output, status, body: output.SendHttpStatus(status, body)),
    ("4.0", lambda output, status, body: output.SendHttpStatus(status, body.decode("utf-8", "replace"), len(body))),
]


def send_http_status(output, status, body):
    """Answer a non-200 status with a body (bytes) in whichever form this orthanc-python takes; the form that
    worked is tried first from then on. Returns the release name of that form."""
    forms = list(_STATUS_FORMS)
    for index, (release, form) in enumerate(forms):
        try:
            form(output, status, body)
        except TypeError:
            if index == len(forms) - 1:
                raise
            continue
        if index:
            with _LOCK:
                _STATUS_FORMS.sort(key=lambda item: item[0] != release)
        return release
    return None
