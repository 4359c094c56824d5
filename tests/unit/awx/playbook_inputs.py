"""What a scenario playbook's roles accept and require (roles/*/meta/argument_specs.yml), and what an inventory gives."""
import glob
import os

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

PREFIX = "medimaging.orthanc."


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def role_calls(playbook):
    """(role, entry point, variables the playbook itself sets for it) for every role a playbook runs."""
    calls = []
    for play in _load(os.path.join(REPO_ROOT, playbook)):
        play_vars = set(play.get("vars") or {})
        for entry in play.get("roles") or []:
            entry = {"role": entry} if isinstance(entry, str) else entry
            params = set(entry) - {"role", "name", "when", "tags", "vars"} | set(entry.get("vars") or {})
            calls.append((entry["role"].removeprefix(PREFIX), "main", params | play_vars))
        for task in (play.get("pre_tasks") or []) + (play.get("tasks") or []):
            include = task.get("ansible.builtin.include_role") or task.get("include_role")
            if include:
                calls.append((include["name"].removeprefix(PREFIX), include.get("tasks_from", "main"),
                              set(task.get("vars") or {}) | play_vars))
    return calls


def play_hosts(playbook):
    return {play["hosts"] for play in _load(os.path.join(REPO_ROOT, playbook))}


def play_vars(playbook):
    return {name for play in _load(os.path.join(REPO_ROOT, playbook)) for name in play.get("vars") or {}}


def role_options(role, entry_point):
    spec = _load(os.path.join(REPO_ROOT, "roles", role, "meta", "argument_specs.yml"))["argument_specs"]
    return spec[entry_point]["options"]


def required_inputs(role, entry_point):
    return {name for name, option in role_options(role, entry_point).items()
            if option.get("required") and "default" not in option}


def scm_inventory(source_path):
    """(groups, variable names) of an inventory file in the project and the group_vars/host_vars beside it."""
    groups, names = set(), set()

    def visit(node):
        for group, body in ((node or {}).get("children") or {}).items():
            groups.add(group)
            visit(body)
        for host_vars in ((node or {}).get("hosts") or {}).values():
            names.update(host_vars or {})
        names.update((node or {}).get("vars") or {})

    for top, body in (_load(os.path.join(REPO_ROOT, source_path)) or {}).items():
        groups.add(top)
        visit(body)
    folder = os.path.dirname(os.path.join(REPO_ROOT, source_path))
    for path in [p for kind in ("group_vars", "host_vars") for pattern in ("*.yml", os.path.join("*", "*.yml"))
                 for p in glob.glob(os.path.join(folder, kind, pattern))]:
        names.update(_load(path) or {})
    return groups, names


def inline_inventory(inventory):
    """(groups, variable names) of an inventory defined in the import document itself."""
    groups, names = {"all"}, set(yaml.safe_load(inventory.get("variables") or "") or {})
    related = inventory.get("related") or {}
    for host in related.get("hosts") or []:
        names.update(yaml.safe_load(host.get("variables") or "") or {})
    for group in related.get("groups") or []:
        groups.add(group["name"])
        names.update(yaml.safe_load(group.get("variables") or "") or {})
    return groups, names
