"""The Azure quickstart on Container Apps in the lab (issue 17), one converge shared by the tests (conftest.py):
Orthanc answers through the app's HTTPS ingress with the password the app read from Key Vault, the client secret
never reaches the output, a second converge writes nothing and --check writes nothing."""
import base64
import json
import os
import re
import ssl
import urllib.request

from .conftest import noop_requests

WRITES = ("PUT", "PATCH", "POST", "DELETE")


def app_url(stdout):
    return re.search(r"Orthanc answers at (https://[^\s\"]+)", stdout).group(1)


def orthanc_get(url, path, password, ca_bundle):
    request = urllib.request.Request(url + path, headers={
        "Authorization": "Basic " + base64.b64encode(("admin:" + password).encode()).decode()})
    with urllib.request.urlopen(request, timeout=20, context=ssl.create_default_context(cafile=ca_bundle)) as answer:
        return json.loads(answer.read())


def test_orthanc_answers_through_the_ingress_with_secrets_from_key_vault(converged, quickstart_lab):
    done, summary, sent = converged
    assert summary["failed"] == 0 and summary["changed"] > 0
    lab_dir = quickstart_lab.env["lab_dir"]
    with open(os.path.join(lab_dir, "quickstart-lab", "orthanc-admin"), encoding="utf-8") as handle:
        password = handle.read().strip()
    system = orthanc_get(app_url(done.stdout), "/system", password, quickstart_lab.env["ca_bundle"])
    assert system["Name"] == "PACS (quickstart lab)"
    # the app registration went through Graph, its secret only into the 0600 file and Key Vault
    assert ("POST", [p for m, p in sent if p.endswith("/addPassword")][0]) in sent
    secret_file = [os.path.join(root, name) for root, _, names in os.walk(os.path.join(lab_dir, "quickstart-lab"))
                   for name in names if name.endswith(".secret")][0]
    assert oct(os.stat(secret_file).st_mode & 0o777) == "0o600"
    with open(secret_file, encoding="utf-8") as handle:
        assert handle.read() not in done.stdout + done.stderr


def test_a_second_converge_and_check_mode_change_and_write_nothing(reruns, quickstart_lab):
    recaps, sent, noop_sent = reruns
    assert recaps["second"]["changed"] == 0, recaps["second"]
    assert recaps["check"]["failed"] == 0 and recaps["check"]["changed"] == 0, recaps["check"]
    assert [r for r in sent if r[0] in WRITES and not r[1].endswith(("/sharedKeys", "/token"))] == []
    # The no-op converge reads each resource once (the vault's role assignments: one list for both grants).
    counted = noop_requests(noop_sent, quickstart_lab.env["subscription_id"])
    assert counted["resources_read"] > 10 and counted["read_more_than_once"] == [], counted["reads_per_resource"]
    assert counted["arm_writes"] == 0 and counted["lro_polls"] == 0, counted
