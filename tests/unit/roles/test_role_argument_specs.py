"""Role argument specs mean what they say: an option marked required has no default in defaults/main.yml (a
default of "" would satisfy Ansible's check and let a missing input reach the cloud), and every default the role
sets is documented in its spec."""
import glob
import os

import pytest
import yaml

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles")


def role_names():
    return sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                  for p in glob.glob(os.path.join(ROLES, "*", "meta", "argument_specs.yml")))


def load(role, *parts):
    path = os.path.join(ROLES, role, *parts)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def test_every_role_has_an_argument_spec():
    roles = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROLES, "*")) if os.path.isdir(p))
    assert roles and roles == role_names()


@pytest.mark.parametrize("role", role_names())
def test_required_options_have_no_default(role):
    defaults = load(role, "defaults", "main.yml")
    specs = load(role, "meta", "argument_specs.yml")["argument_specs"]
    required = {name for entry in specs.values() for name, opt in (entry.get("options") or {}).items()
                if opt.get("required")}
    assert sorted(required & set(defaults)) == []


@pytest.mark.parametrize("role", role_names())
def test_every_default_is_documented(role):
    defaults = load(role, "defaults", "main.yml")
    documented = {name for entry in load(role, "meta", "argument_specs.yml")["argument_specs"].values()
                  for name in (entry.get("options") or {})}
    assert sorted(set(defaults) - documented) == []
