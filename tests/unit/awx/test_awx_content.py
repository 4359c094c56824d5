"""awx/: the AWX content as code follows awxkit's import format and AWX's rules, and matches the playbooks' roles.

Every survey variable is an input of a role the job's playbook runs (or the playbook's own variable); every required
role input without a default is asked by the survey or comes from the inventory, a credential or the playbook.
"""
import copy
import glob
import os

import pytest

from awx_rules import (EXPORTABLE_RESOURCES, MANAGED_CREDENTIAL_TYPES, credential_type_problems, freeze,
                       injected_extra_vars, load, natural_key_problems, references, survey_problems, walk)
from playbook_inputs import (REPO_ROOT, inline_inventory, inventory_values, play_hosts, play_vars, playbook_reads,
                             required_inputs, role_calls, role_options, role_outputs, scm_inventory, unresolved_reads)
import yaml

CONTENT = os.path.join(REPO_ROOT, "awx", "medimaging-orthanc.yml")
CREDENTIALS = os.path.join(REPO_ROOT, "awx", "credentials.example.yml")


@pytest.fixture(scope="module")
def content():
    return load(CONTENT)


@pytest.fixture(scope="module")
def credentials():
    return load(CREDENTIALS)


def all_problems(document, known=()):
    """Every rule over a whole document; `known` are natural keys defined elsewhere (the other file)."""
    problems = [f"{name}: not a resource `awx import` reads" for name in document if name not in EXPORTABLE_RESOURCES]
    defined = {freeze(asset["natural_key"]) for _, asset in walk(document) if "natural_key" in asset} | set(known)
    defined |= {freeze({"name": n, "kind": k, "type": "credential_type"}) for n, k in MANAGED_CREDENTIAL_TYPES}
    for where, asset in walk(document):
        top = where.split("[")[0] if ".related." not in where else None
        problems += natural_key_problems(where, asset, top)
        problems += [f"{where}{path}: {ref} is defined nowhere" for path, ref in references(asset)
                     if freeze(ref) not in defined]
        survey = (asset.get("related") or {}).get("survey_spec")
        if survey is not None:
            problems += survey_problems(where, survey)
            if not asset.get("survey_enabled"):
                problems.append(f"{where}: has a survey but survey_enabled is not true")
    for index, ctype in enumerate(document.get("credential_types") or []):
        problems += credential_type_problems(f"credential_types[{index}]", ctype)
    return problems


def test_content_follows_the_import_format(content, credentials):
    known = {freeze(asset["natural_key"]) for _, asset in walk(credentials)}
    assert all_problems(content, known) == []


def test_credentials_example_follows_the_import_format(content, credentials):
    known = {freeze(asset["natural_key"]) for _, asset in walk(content)}
    assert all_problems(credentials, known) == []
    for credential in credentials["credentials"]:
        secret_values = {k: v for k, v in credential["inputs"].items()
                         if any(w in k for w in ("password", "secret", "token", "key_data"))}
        assert set(secret_values.values()) <= {""}, f"{credential['name']}: the example carries a secret"


def test_the_rules_catch_mistakes(content):
    """The validator is not a rubber stamp: each kind of mistake an author makes is reported."""
    broken = copy.deepcopy(content)
    template = broken["job_templates"][0]
    template["natural_key"]["name"] = "renamed"
    question = template["related"]["survey_spec"]["spec"][0]
    question["default"] = "maybe"
    template["related"]["survey_spec"]["spec"].append(dict(question, type="text", default=""))
    template["related"]["survey_spec"]["spec"].append(
        {"question_name": "q", "variable": "db_password", "type": "text", "required": False})
    template["project"] = {"name": "nope", "organization": {"name": "Imaging", "type": "organization"},
                           "type": "project"}
    broken["credential_types"][0]["inputs"]["fields"].append({"id": "api_token", "label": "t", "type": "string"})
    broken["credential_types"][0]["injectors"]["env"]["X"] = "{{ typo }}"
    broken["job_template"] = []
    broken["credential_types"][0]["injectors"]["extra_vars"] = {"users": '{"radiology": {{ secret | tojson }}}'}
    text = "\n".join(all_problems(broken))
    for expected in ("natural_key.name 'renamed'", "default 'maybe' is not a choice", "variable asked twice",
                     "must be a password question", "is defined nowhere", "mark it secret: true",
                     "unknown inputs ['typo']", "job_template: not a resource", "AWX injects text"):
        assert expected in text


def job_templates(content):
    return {template["name"]: template for template in content["job_templates"]}


def inventory_of(content, template):
    """(groups, variable names) the template's inventory gives: an SCM source from the project or inline hosts."""
    wanted = freeze(template["inventory"])
    for source in content.get("inventory_sources") or []:
        if freeze(source["inventory"]) == wanted:
            assert os.path.isfile(os.path.join(REPO_ROOT, source["source_path"])), source["source_path"]
            return scm_inventory(source["source_path"])
    for inventory in content["inventory"]:
        if freeze(inventory["natural_key"]) == wanted:
            return inline_inventory(inventory)
    raise AssertionError(f"{template['name']}: its inventory is not in the file")


def credential_vars(content, credentials, template):
    """Extra vars the template's credentials inject (custom types defined in the content)."""
    names = set()
    types = {freeze(c["natural_key"]): c for c in content["credential_types"]}
    for reference in (template.get("related") or {}).get("credentials") or []:
        ctype = types.get(freeze(reference["credential_type"]))
        if ctype:
            names |= injected_extra_vars({"credential_types": [ctype]})
    return names


@pytest.mark.parametrize("name", [t["name"] for t in load(CONTENT)["job_templates"]])
def test_job_template_matches_its_playbook(content, credentials, name):
    template = job_templates(content)[name]
    playbook = template["playbook"]
    assert os.path.isfile(os.path.join(REPO_ROOT, playbook)), f"{name}: {playbook} does not exist"
    calls = role_calls(playbook)
    assert calls, f"{name}: {playbook} runs no role"
    accepted = play_vars(playbook) | playbook_reads(playbook) | {o for role, entry, _ in calls for o in role_options(role, entry)}
    survey = {q["variable"] for q in template["related"]["survey_spec"]["spec"]}
    asked_required = {q["variable"] for q in template["related"]["survey_spec"]["spec"] if q["required"]}
    assert survey <= accepted, f"{name}: survey asks for what no role of {playbook} takes: {survey - accepted}"

    groups, inventory_vars = inventory_of(content, template)
    assert play_hosts(playbook) <= groups, f"{name}: {playbook} targets groups its inventory lacks"
    assert template.get("limit", "all") in groups
    extra_vars = template_extra_vars(template)
    given = inventory_vars | credential_vars(content, credentials, template) | set(extra_vars)
    for role, entry, params in calls:
        missing = required_inputs(role, entry) - asked_required - given - params
        assert not missing, f"{name}: {role}:{entry} requires {sorted(missing)}: ask it or set it in the inventory"

    # What the job's variables read (through the inventory, the template's extra_vars) is defined by someone when
    # it runs. A role's defaults count only where that role reads the variable (an included role's defaults end
    # with it), so the start set pairs each variable with the options of the roles that take it.
    groups = play_hosts(playbook) & ({template["limit"]} if template.get("limit") else play_hosts(playbook))
    start = {variable: set() for variable in playbook_reads(playbook) | set(extra_vars)}
    for role, entry, _ in role_calls(playbook, groups):
        options = set(role_options(role, entry))
        for option in options:
            start.setdefault(option, set()).update(options)
    source = inventory_source(content, template)
    values = inventory_values(source, groups) if source else {}
    for variable, value in extra_vars.items():
        values.setdefault(variable, []).append(value)
    defined = given | survey | play_vars(playbook) | role_outputs({role for role, _, _ in calls})
    start = {variable: local for variable, local in start.items() if variable in values}
    missing = unresolved_reads(start, values, defined)
    assert not missing, f"{name}: its variables read {sorted(missing)}, which nothing defines when the job runs"


def template_extra_vars(template):
    """The job template's own extra_vars (YAML text, as AWX stores them): variables AWX does not mark unsafe."""
    extra_vars = yaml.safe_load(template.get("extra_vars") or "") or {}
    assert isinstance(extra_vars, dict), f"{template['name']}: extra_vars must be a YAML mapping"
    for variable, value in extra_vars.items():
        literal = isinstance(value, str) and "{{" not in value
        assert not (literal and any(w in variable for w in ("password", "secret", "token"))), \
            f"{template['name']}: {variable} is a secret: a credential gives it, never the file"
    return extra_vars


def inventory_source(content, template):
    wanted = freeze(template["inventory"])
    return next((s["source_path"] for s in content.get("inventory_sources") or []
                 if freeze(s["inventory"]) == wanted), None)


def test_required_survey_answers_are_required_role_inputs_somewhere(content):
    """Vice versa: a role's required input the survey asks is a required question (not silently optional)."""
    for name, template in job_templates(content).items():
        required = {r for role, entry, _ in role_calls(template["playbook"]) for r in required_inputs(role, entry)}
        for question in template["related"]["survey_spec"]["spec"]:
            if question["variable"] in required:
                assert question["required"], f"{name}: {question['variable']} is required by its role"


def test_workflow_runs_the_hybrid_journey_in_order(content):
    workflow = content["workflow_job_templates"][0]
    nodes = {n["identifier"]: n for n in workflow["related"]["workflow_nodes"]}
    names = {freeze(t["natural_key"]): t["name"] for t in content["job_templates"]}
    assert names[freeze(nodes["cloud-side"]["unified_job_template"])] == "Orthanc hybrid - cloud side"
    assert names[freeze(nodes["pacs"]["unified_job_template"])] == "Orthanc hybrid - PACS"
    assert [n["identifier"] for n in nodes["cloud-side"]["related"]["success_nodes"]] == ["pacs"]
    survey = {q["variable"] for q in workflow["related"]["survey_spec"]["spec"]}
    for node in nodes.values():
        template = next(t for t in content["job_templates"] if freeze(t["natural_key"]) ==
                        freeze(node["unified_job_template"]))
        assert survey <= {q["variable"] for q in template["related"]["survey_spec"]["spec"]}


def test_every_playbook_has_a_job_template(content):
    """Each scenario and operation playbook of the project can be launched from AWX."""
    playbooks = {os.path.relpath(p, REPO_ROOT) for p in glob.glob(os.path.join(REPO_ROOT, "playbooks", "*.yml"))}
    templated = {template["playbook"] for template in content["job_templates"]}
    assert playbooks - templated == set(), "playbooks without a job template in awx/medimaging-orthanc.yml"
