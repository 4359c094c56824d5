"""Role level: after a converge, changing one input of azure_dicom rewrites only that resource.

azure_dicom is converged by ansible-playbook (resource group, workspace, DICOM service, role assignment for the
Orthanc principal); a no-op converge is then one GET per resource and no write; changing the CORS origins makes
exactly one write, a PUT to the DICOM service, while every other resource gets its one GET and nothing else.
Counted from the emulator's request log (ARM paths only; token traffic and long-running-operation polls apart).
"""
import re
import uuid
from collections import Counter

from lab_runner import run
from playbook_runner import azure_environment, run_playbook

# Polls of a long-running operation (Azure-AsyncOperation / Location URLs), not requests about a resource.
_LRO = re.compile(r"/(operationresults|operationstatuses|azureasyncoperation|operations)/", re.IGNORECASE)


def _by_resource(calls):
    """Counter of (method, resource path) for ARM calls that are not LRO polls; paths compared case-insensitively."""
    return Counter((method, path.lower().rstrip("/")) for method, path in calls if not _LRO.search(path))


def test_changing_cors_writes_only_the_dicom_service(azure_lab, lab_auth, request_log, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    group, workspace = "rg-it-one-%s" % suffix, "ws%s" % suffix
    extra = {"azure_environment": azure_environment(azure_lab), "azure_dicom_resource_group": group,
             "azure_dicom_location": azure_lab["location"], "azure_dicom_workspace_name": workspace,
             "azure_dicom_service_name": "pacs", "azure_dicom_public_network_access": "Enabled",
             "azure_dicom_orthanc_principal_id": azure_lab["principal_id"]}
    sub = "/subscriptions/%s" % azure_lab["subscription_id"]
    rg_path = ("%s/resourcegroups/%s" % (sub, group)).lower()
    ws_path = rg_path + "/providers/microsoft.healthcareapis/workspaces/" + workspace
    svc_path = ws_path + "/dicomservices/pacs"
    try:
        run_playbook("dicom_change_one.yml", extra, str(tmp_path))

        request_log.mark()
        run_playbook("dicom_change_one.yml", extra, str(tmp_path))
        noop = request_log.arm_calls()
        assert request_log.writes() == [], "a no-op converge wrote: %s" % request_log.writes()
        noop_reads = _by_resource(noop)
        assert all(count == 1 for count in noop_reads.values()), noop_reads
        assert {path for _, path in noop_reads} >= {rg_path, ws_path, svc_path}
        assert len(noop_reads) == 4, "resource group, workspace, service, role assignment: %s" % noop_reads

        request_log.mark()
        run_playbook("dicom_change_one.yml", dict(extra, azure_dicom_cors_origins=["https://viewer.example"]),
                     str(tmp_path))
        changed = _by_resource(request_log.arm_calls())
        writes = {key: n for key, n in changed.items() if key[0] != "GET"}
        assert writes == {("PUT", svc_path): 1}, "expected one PUT to the DICOM service: %s" % changed
        others = {key: n for key, n in changed.items() if key[0] == "GET" and key[1] != svc_path}
        assert others == {key: 1 for key in noop_reads if key[1] != svc_path}, \
            "every other resource gets exactly its one GET: %s" % changed
        # The changed resource: its GET before the write (and at most one read-back after the operation).
        assert 1 <= changed[("GET", svc_path)] <= 2, changed
    finally:
        run("azure_resource_group", {"name": group, "state": "absent", "force_delete_nonempty": True}, lab_auth)
