"""What a scenario playbook's roles accept and require (roles/*/meta/argument_specs.yml), and what an inventory gives."""
import functools
import glob
import os

import jinja2
from jinja2 import nodes
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

PREFIX = "medimaging.orthanc."


@functools.lru_cache(maxsize=None)
def _load(path):  # read-only data, shared between tests
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def role_calls(playbook, groups=None):
    """(role, entry point, variables the playbook itself sets for it) for every role a playbook runs (on these
    groups' plays only, when given)."""
    calls = []
    for play in _load(os.path.join(REPO_ROOT, playbook)):
        if groups is not None and play["hosts"] not in groups:
            continue
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


# Names a template may read without anyone defining them: Ansible's own variables and Jinja globals.
MAGIC = {"ansible_playbook_python", "inventory_hostname", "hostvars", "groups", "group_names", "playbook_dir",
         "lookup", "query", "q", "omit", "range", "dict", "now", "undef", "ansible_check_mode", "ansible_facts"}
_JINJA = jinja2.Environment()


def template_reads(value, undefaulted=True):
    """(name, key or None) for every variable the Jinja templates in value (any YAML data) read: `a.b` and `a['b']`
    give the key, as Ansible templates only that member of a map. With undefaulted, only what must be defined (a
    name behind `default(...)` or `is defined` may be missing)."""
    found = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= template_reads(item, undefaulted)
    elif isinstance(value, list):
        for item in value:
            found |= template_reads(item, undefaulted)
    elif isinstance(value, str) and ("{{" in value or "{%" in value):
        _names(_JINJA.parse(value), found, undefaulted)
    return found


def _names(node, found, undefaulted):
    if undefaulted and isinstance(node, nodes.Filter) and node.name in ("default", "d"):
        for child in list(node.args) + list(node.kwargs):
            _names(child, found, undefaulted)
        return
    if undefaulted and isinstance(node, nodes.Test) and node.name in ("defined", "undefined"):
        return
    if isinstance(node, (nodes.Getattr, nodes.Getitem)) and isinstance(node.node, nodes.Name):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        found.add((node.node.name, key if isinstance(key, str) else None))
        if isinstance(node, nodes.Getitem):
            _names(node.arg, found, undefaulted)
        return
    if isinstance(node, nodes.Name) and node.ctx == "load":
        found.add((node.name, None))
    for child in node.iter_child_nodes():
        _names(child, found, undefaulted)


def unresolved_reads(start, values, defined):
    """Variables reached from `start` ({name the job uses: names defined where it is read, e.g. the reading role's
    own defaults}) through the inventory's `values` ({name: [values]}) that nothing defines: undefined at run time."""
    missing, seen, todo = set(), set(), [(name, None, frozenset(local)) for name, local in start.items()]
    while todo:
        name, key, local = todo.pop()
        if (name, key, local) in seen:
            continue
        seen.add((name, key, local))
        if name in values:
            for value in values[name]:
                member = value[key] if key and isinstance(value, dict) and key in value else value
                todo.extend((read, read_key, local) for read, read_key in template_reads(member))
        elif name not in defined and name not in local and name not in MAGIC:
            missing.add(name)
    return missing


def playbook_reads(playbook):
    """Every variable a playbook's own templates read (defaulted or not): inputs it takes besides the roles'."""
    return {name for name, _ in template_reads(_load(os.path.join(REPO_ROOT, playbook)), undefaulted=False)}


def role_outputs(roles):
    """Variables these roles set for later tasks and roles: set_fact keys and registered results."""
    names = set()

    def visit(tasks):
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            facts = task.get("ansible.builtin.set_fact") or task.get("set_fact")
            if isinstance(facts, dict):
                names.update(k for k in facts if k != "cacheable")
            if isinstance(task.get("register"), str):
                names.add(task["register"])
            for block in ("block", "rescue", "always"):
                visit(task.get(block))

    for role in roles:
        for path in glob.glob(os.path.join(REPO_ROOT, "roles", role, "tasks", "**", "*.yml"), recursive=True):
            visit(_load(path))
    return names


def inventory_values(source_path, groups):
    """{name: [values]} a project inventory gives the hosts of these groups (its file, group_vars, host_vars)."""
    values = {}

    def add(variables):
        for name, value in (variables or {}).items():
            values.setdefault(name, []).append(value)

    def visit(group, node, inside):
        inside = inside or group in groups
        if inside:
            add((node or {}).get("vars"))
            for host_vars in ((node or {}).get("hosts") or {}).values():
                add(host_vars)
        for child, body in ((node or {}).get("children") or {}).items():
            visit(child, body, inside)

    for top, body in (_load(os.path.join(REPO_ROOT, source_path)) or {}).items():
        visit(top, body, top == "all" and not groups)
    folder = os.path.dirname(os.path.join(REPO_ROOT, source_path))
    for group in {"all"} | set(groups):
        for path in glob.glob(os.path.join(folder, "group_vars", group + ".yml")) + \
                glob.glob(os.path.join(folder, "group_vars", group, "*.yml")):
            add(_load(path))
    for path in glob.glob(os.path.join(folder, "host_vars", "**", "*.yml"), recursive=True):
        add(_load(path))
    return values


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
