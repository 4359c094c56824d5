"""The rules `awx import` (awxkit) and AWX's API apply to an import document, as functions that return problems.

awxkit itself gives the shape: which resources an import reads (EXPORTABLE_RESOURCES), each page type's natural key
(NATURAL_KEY), how related objects travel (DEPENDENT_EXPORT). AWX's API gives the survey and credential type rules
(awx/api/views JobTemplateSurveySpec._validate_spec_data, awx/main/models/credential CredentialType).
"""
import re

from awxkit import yaml_file
from awxkit.api import pages
from awxkit.api.pages.api import EXPORTABLE_RESOURCES
import yaml

# natural_key 'type' -> awxkit page class (its NATURAL_KEY) and the top-level resource that holds it.
PAGE_TYPES = {
    "organization": (pages.Organization, "organizations"),
    "execution_environment": (pages.ExecutionEnvironment, "execution_environments"),
    "credential_type": (pages.CredentialType, "credential_types"),
    "credential": (pages.Credential, "credentials"),
    "project": (pages.Project, "projects"),
    "inventory": (pages.Inventory, "inventory"),
    "inventory_source": (pages.InventorySource, "inventory_sources"),
    "job_template": (pages.JobTemplate, "job_templates"),
    "workflow_job_template": (pages.WorkflowJobTemplate, "workflow_job_templates"),
    "host": (pages.Host, None),
    "group": (pages.Group, None),
    "workflow_job_template_node": (pages.WorkflowJobTemplateNode, None),
}
# Credential types every AWX has (managed: never exported, referenced by natural key).
MANAGED_CREDENTIAL_TYPES = {("Machine", "ssh"), ("Amazon Web Services", "cloud"),
                            ("OpenShift or Kubernetes API Bearer Token", "kubernetes"),
                            ("Microsoft Azure Resource Manager", "cloud"), ("Vault", "vault"),
                            ("Source Control", "scm")}
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_WORDS = ("password", "secret", "token", "private_key")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=yaml_file.Loader)


def freeze(key):
    return tuple(sorted((k, freeze(v) if isinstance(v, dict) else v) for k, v in key.items()))


def walk(document):
    """Every object with a natural_key, top-level and related, as (where, object)."""
    for resource, assets in document.items():
        for index, asset in enumerate(assets or []):
            yield from _walk(f"{resource}[{index}]", asset)


def _walk(where, asset):
    yield where, asset
    for name, related in (asset.get("related") or {}).items():
        if isinstance(related, list):
            for index, item in enumerate(related):
                if isinstance(item, dict) and "natural_key" in item:
                    yield from _walk(f"{where}.related.{name}[{index}]", item)


def natural_key_problems(where, asset, resource=None):
    """The natural key names the object's type and exactly awxkit's NATURAL_KEY fields, with the object's values."""
    key = asset.get("natural_key")
    if not isinstance(key, dict) or key.get("type") not in PAGE_TYPES:
        return [f"{where}: natural_key must be a dict whose type is one of {sorted(PAGE_TYPES)}"]
    page, top = PAGE_TYPES[key["type"]]
    problems = []
    if resource is not None and top != resource:
        problems.append(f"{where}: a {key['type']} does not belong in {resource}")
    for field in page.NATURAL_KEY:
        if field in asset and key.get(field) != asset[field]:
            problems.append(f"{where}: natural_key.{field} {key.get(field)!r} != the object's {asset[field]!r}")
    extra = set(key) - set(page.NATURAL_KEY) - {"type"}
    if extra:
        problems.append(f"{where}: natural_key has fields awxkit does not use: {sorted(extra)}")
    return problems


def references(value, path=""):
    """Every natural-key reference (a dict with 'type') inside value, with its path; natural_key itself excluded."""
    if isinstance(value, dict):
        if "type" in value and value.get("type") in PAGE_TYPES and path:
            yield path, value
        for name, item in value.items():
            if name != "natural_key":
                yield from references(item, f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, f"{path}[{index}]")


def survey_problems(where, survey):
    """AWX's survey rules: name, description, a list of questions with known types, unique variables, sound defaults."""
    problems = []
    for field in ("name", "description", "spec"):
        if field not in survey:
            problems.append(f"{where}: survey_spec needs '{field}'")
    seen = set()
    for index, question in enumerate(survey.get("spec") or []):
        at = f"{where}.spec[{index}] ({question.get('variable')})"
        for field in ("question_name", "variable", "type", "required"):
            if field not in question:
                problems.append(f"{at}: '{field}' is missing")
        kind, variable, default = question.get("type"), question.get("variable", ""), question.get("default")
        if kind not in SURVEY_TYPES:
            problems.append(f"{at}: type {kind!r} is not one of {sorted(SURVEY_TYPES)}")
        if not VARIABLE.match(variable or ""):
            problems.append(f"{at}: variable must be a valid Ansible variable name")
        if variable in seen:
            problems.append(f"{at}: variable asked twice")
        seen.add(variable)
        if any(word in variable for word in SECRET_WORDS) and kind != "password":
            problems.append(f"{at}: a secret must be a password question (AWX hides and encrypts it)")
        if kind in ("multiplechoice", "multiselect"):
            choices = question.get("choices")
            if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
                problems.append(f"{at}: choices must be a non-empty list of strings")
            elif default not in (None, "") and any(d not in choices for d in str(default).split("\n")):
                problems.append(f"{at}: default {default!r} is not a choice")
        if kind in ("integer", "float"):
            bounds = [question.get(b) for b in ("min", "max")]
            if any(not isinstance(b, (int, float)) or isinstance(b, bool) for b in bounds):
                problems.append(f"{at}: min and max must be numbers")
            elif default not in (None, "") and not bounds[0] <= default <= bounds[1]:
                problems.append(f"{at}: default {default!r} outside [{bounds[0]}, {bounds[1]}]")
            if kind == "integer" and default not in (None, "") and not isinstance(default, int):
                problems.append(f"{at}: an integer question needs an integer default")
        if kind in ("text", "textarea", "password") and isinstance(default, str) and default:
            low, high = question.get("min", 0), question.get("max", 1024)
            if not low <= len(default) <= high:
                problems.append(f"{at}: default length outside [{low}, {high}]")
        if kind == "password" and default not in (None, ""):
            problems.append(f"{at}: a password question must not carry a default in the file")
    return problems


def credential_type_problems(where, ctype):
    """AWX's custom credential type rules: kind cloud or net, unique field ids, required/injectors name real fields."""
    problems = []
    if ctype.get("kind") not in ("cloud", "net"):
        problems.append(f"{where}: a custom credential type's kind must be cloud or net")
    fields = (ctype.get("inputs") or {}).get("fields") or []
    ids = [f.get("id") for f in fields]
    if len(ids) != len(set(ids)) or not all(ids):
        problems.append(f"{where}: input field ids must be present and unique")
    for field in fields:
        if field.get("type", "string") not in ("string", "boolean"):
            problems.append(f"{where}: field {field.get('id')} type must be string or boolean")
        if any(word in field.get("id", "") for word in SECRET_WORDS + ("secret",)) and not field.get("secret"):
            problems.append(f"{where}: field {field['id']} holds a secret: mark it secret: true")
    missing = set((ctype.get("inputs") or {}).get("required") or []) - set(ids)
    if missing:
        problems.append(f"{where}: required names unknown fields {sorted(missing)}")
    injectors = ctype.get("injectors") or {}
    if set(injectors) - {"env", "extra_vars", "file"}:
        problems.append(f"{where}: injectors may only be env, extra_vars, file")
    for kind, values in injectors.items():
        for name, template in (values or {}).items():
            used = set(re.findall(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)", str(template)))
            if used - set(ids) - {"tower", "awx"}:
                problems.append(f"{where}: injector {kind}.{name} uses unknown inputs {sorted(used - set(ids))}")
            text = str(template).lstrip()
            if kind == "extra_vars" and (text[:1] == "[" or text[:1] == "{" and text[:2] != "{{"):
                problems.append(f"{where}: injector extra_vars.{name} renders a map or list as JSON, but AWX injects "
                                "text: inject the strings and build the map in the job template's extra_vars")
    return problems


def injected_extra_vars(document):
    return {name for ctype in document.get("credential_types") or []
            for name in ((ctype.get("injectors") or {}).get("extra_vars") or {})}
