"""orthanc_study_archive refuses a study UID that is not a whole DICOM UID before it calls anything: UIDs become
blob names, and "1.2.3\\n" passed re.match(...$) and named blobs nothing could delete."""
import io
import json
import socket
from contextlib import redirect_stdout

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.medimaging.orthanc.plugins.modules import orthanc_study_archive

CANARY = "Canary-Orthanc-Passw0rd-3b1f"
pytestmark = pytest.mark.timeout(60)  # without the check the module goes on to authenticate and call


@pytest.fixture
def listener():
    """A socket Orthanc and Blob URLs point to: any connection to it would be a call the module made too early."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    yield server
    server.close()


def run(args):
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out):
        with pytest.raises(SystemExit):
            orthanc_study_archive.main()
    text = out.getvalue()
    return json.loads(text[text.index("{"):]), text


@pytest.mark.parametrize("state", ["archived", "restored"])
@pytest.mark.parametrize("uid", ["1.2.3\n", "1.2.3 ", "1.2/../x", "1..2", ""])
def test_bad_study_uids_fail_before_any_call(listener, uid, state):
    port = listener.getsockname()[1]
    result, text = run({"orthanc_url": "http://127.0.0.1:%d" % port, "orthanc_password": CANARY,
                        "orthanc_username": "admin", "container": "studies", "state": state,
                        "account_url": "https://127.0.0.1:%d/devstoreaccount1" % port,
                        "study_instance_uids": ["1.2.826.0.1.3680043.8.498.1", uid]})
    assert result.get("failed") and repr(uid) in result["msg"], result
    assert CANARY not in text and "Traceback" not in text
    with pytest.raises(socket.timeout):
        listener.accept()
