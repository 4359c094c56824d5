"""ARM requests per no-op converge, per role, against the lab: the goal is one GET per resource and no write.

Usage (from the repository root, lab running or not):  .venv/bin/python bench/arm_requests.py [--keep] [role ...]
Each role (default: azure_dicom, postgres_flexible, blob_archive) is converged once, then converged again; the
second run's ARM calls are read from the emulator's request log (token traffic excluded) and printed as one JSON
document: per role the Azure module calls that ran, the GETs per resource path (relative to the subscription),
the writes, and whether the goal (exactly one GET per resource, zero writes) was met. The exit status is 1 if a
converge failed or the goal was missed. The bench resource group is deleted at the end unless --keep; a lab this
script starts is stopped at the end.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
# Polls of a long-running operation: not requests about a resource (a no-op converge should make none).
LRO_POLL = re.compile(r"/(operationresults|operationstatuses|azureasyncoperation)/", re.IGNORECASE)

ROLES = {
    "azure_dicom": {"azure_dicom_resource_group": "rg-bench", "azure_dicom_location": "westeurope",
                    "azure_dicom_workspace_name": "benchws", "azure_dicom_service_name": "pacs",
                    "azure_dicom_public_network_access": "Enabled"},
    "blob_archive": {"blob_archive_resource_group": "rg-bench", "blob_archive_location": "westeurope",
                     "blob_archive_account_name": "bencharchive"},
    "postgres_flexible": {"postgres_flexible_resource_group": "rg-bench", "postgres_flexible_location": "westeurope",
                          "postgres_flexible_server_name": "bench-index", "postgres_flexible_network_mode": "public",
                          "postgres_flexible_firewall_rules": [{"name": "lab", "start_ip_address": "127.0.0.1"}],
                          "postgres_flexible_admin_password": "Bench-Passw0rd-0001",
                          # The lab shares one PostgreSQL cluster: a login and a database of the bench's own.
                          "postgres_flexible_admin_login": "benchadmin", "postgres_flexible_database": "orthanc_bench"},
}


def lab(*args):
    return subprocess.run([PYTHON, "-m", "lab", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def playbook(path, role, extra):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "vars": extra,
                    "tasks": [{"ansible.builtin.include_role": {"name": "medimaging.orthanc." + role}}]},
                   ], handle)


def run(path, env):
    done = subprocess.run([os.path.join(os.path.dirname(PYTHON), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + PYTHON, path], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    stats = json.loads(done.stdout[done.stdout.index("{"):]) if "{" in done.stdout else {}
    return done.returncode, stats


def azure_tasks(stats):
    """Azure module calls that ran in a playbook run (loop items counted one by one)."""
    count = 0
    for play in stats.get("plays", []):
        for task in play.get("tasks", []):
            result = task.get("hosts", {}).get("localhost", {})
            if result.get("skipped") or not result.get("action", "").startswith("medimaging.orthanc.azure_"):
                continue
            count += len(result.get("results", [])) or 1
    return count


def measure(calls, subscription_id, module_calls):
    """One role's no-op converge from its ARM log entries."""
    prefix = "/subscriptions/" + subscription_id.lower()
    gets, writes, polls = {}, [], 0
    for call in calls:
        path = call["path"].rstrip("/")
        if LRO_POLL.search(path):
            polls += 1
            continue
        short = path[len(prefix):] if path.lower().startswith(prefix) else path
        key = short.lower()
        if call["method"] == "GET":
            gets[key] = gets.get(key, 0) + 1
        else:
            writes.append("%s %s" % (call["method"], short))
    return {
        "module_calls": module_calls,
        "resources": len(gets),
        "arm_requests": len(calls),
        "gets": sum(gets.values()),
        "writes": len(writes),
        "lro_polls": polls,
        "gets_per_resource": gets,
        "write_requests": writes,
        "goal_met": bool(gets) and not writes and not polls and set(gets.values()) == {1}
        and len(gets) == module_calls,
    }


def main(argv):
    keep = "--keep" in argv
    names = [a for a in argv if a != "--keep"] or list(ROLES)
    unknown = [n for n in names if n not in ROLES]
    if unknown:
        sys.exit("unknown role(s) %s: choose among %s" % (", ".join(unknown), ", ".join(ROLES)))
    started = lab("status").returncode != 0
    if started and lab("up").returncode != 0:
        sys.exit("could not start the lab: python -m lab up")
    report = {"goal": "one GET per resource, zero writes, per no-op converge", "roles": {}}
    try:
        facts = json.loads(lab("env", "--json").stdout)
        ROLES["azure_dicom"]["azure_dicom_orthanc_principal_id"] = facts["principal_id"]  # adds the role assignment
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
                   AZURE_ARM_ENDPOINT=facts["arm_endpoint"], AZURE_AUTHORITY_HOST=facts["authority_host"],
                   REQUESTS_CA_BUNDLE=facts["ca_bundle"], AZURE_SUBSCRIPTION_ID=facts["subscription_id"],
                   AZURE_TENANT_ID=facts["tenant_id"], AZURE_CLIENT_ID=facts["client_id"],
                   AZURE_CLIENT_SECRET=facts["client_secret"])
        with tempfile.TemporaryDirectory() as tmp:
            group = os.path.join(tmp, "group.json")

            def group_play(state):
                with open(group, "w", encoding="utf-8") as handle:
                    json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
                        {"medimaging.orthanc.azure_resource_group": dict(
                            {"name": "rg-bench", "location": "westeurope", "state": state},
                            **({"force_delete_nonempty": True} if state == "absent" else {}))}]}], handle)
                return run(group, env)[0]

            if group_play("present") != 0:
                sys.exit("could not create the bench resource group rg-bench")
            try:
                for role in names:
                    path = os.path.join(tmp, role + ".json")
                    playbook(path, role, ROLES[role])
                    rc, _ = run(path, env)
                    if rc != 0:
                        report["roles"][role] = {"error": "first converge failed (rc=%s): see the lab's emulator "
                                                          "log" % rc, "goal_met": False}
                        continue
                    mark = os.path.getsize(facts["request_log"])
                    rc, stats = run(path, env)
                    with open(facts["request_log"], encoding="utf-8") as handle:
                        handle.seek(mark)
                        calls = [json.loads(line) for line in handle if line.strip()]
                    arm = [c for c in calls if c["path"].lower().startswith("/subscriptions/")]
                    report["roles"][role] = measure(arm, facts["subscription_id"], azure_tasks(stats))
                    if rc != 0:
                        report["roles"][role].update(error="no-op converge failed (rc=%s)" % rc, goal_met=False)
            finally:
                if not keep:
                    group_play("absent")
    finally:
        if started:
            lab("down")
    report["goal_met"] = all(r.get("goal_met") for r in report["roles"].values())
    print(json.dumps(report, indent=2))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
