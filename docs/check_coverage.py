"""Fails the site's build when something of the collection is missing from it: every module, filter and role (each
entry point) has its generated page, every playbook is on the scenarios page, every plugin feature section is on
the plugin page. Usage: python docs/check_coverage.py BUILT_RST_DIR (docs/build.sh, after antsibull-docs)."""
import glob
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def names(pattern):
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(REPO, pattern)))


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def missing(rst):
    pages = os.path.join(rst, "collections", "medimaging", "orthanc")
    problems = [f"module {m}: no page" for m in names("plugins/modules/*.py") if m != "__init__"
                and not os.path.isfile(os.path.join(pages, m + "_module.rst"))]
    problems += [f"filter {f}: no page" for f in names("plugins/filter/*.yml")
                 if not os.path.isfile(os.path.join(pages, f + "_filter.rst"))]
    for spec in glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml")):
        role = spec.split(os.sep)[-3]
        page = os.path.join(pages, role + "_role.rst")
        text = read(page) if os.path.isfile(page) else ""
        problems += [f"role {role}: entry point {entry} not on its page"
                     for entry in yaml.safe_load(read(spec))["argument_specs"] if f"Entry point ``{entry}``" not in text]
    scenarios = read(os.path.join(rst, "scenarios.rst"))
    problems += [f"playbook {p}.yml: not on the scenarios page" for p in names("playbooks/*.yml")
                 if p + ".yml" not in scenarios]
    plugin = read(os.path.join(rst, "plugin.rst"))
    for config in glob.glob(os.path.join(REPO, "files", "orthanc-plugin", "medimaging_plugin", "**", "*.py"),
                            recursive=True):
        for section in re.findall(r'^SECTION = "(\w+)"', read(config), re.M):
            if f"``{section}``" not in plugin:
                problems.append(f"plugin section {section}: not on the plugin page")
    return problems


if __name__ == "__main__":
    found = missing(sys.argv[1])
    for problem in found:
        print("docs coverage:", problem, file=sys.stderr)
    sys.exit(1 if found else 0)
