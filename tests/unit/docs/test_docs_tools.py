"""docs/plugin_settings.py and docs/check_coverage.py: the settings page lists every key of the plugin's schema, and
the coverage check names what the built site lacks (and nothing when it lacks nothing)."""
import glob
import importlib
import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "docs"))

import check_coverage  # noqa: E402
import plugin_settings  # noqa: E402


def test_every_key_of_every_section_is_on_the_settings_page():
    page = plugin_settings.page()
    for name in plugin_settings.SECTION_MODULES:
        module = importlib.import_module(name)
        assert "``%s``\n" % module.SECTION in page
        for row in plugin_settings.rows(module.FIELDS, "", "ORTHANC__X"):
            assert "   * - ``%s``\n" % row[0] in page, row[0]
    # an entry of a map and its container variable, as the plugin reads it
    assert "``Servers.<name>.TokenEndpoint``" in page
    assert "``ORTHANC__DICOMWEB_OAUTH__SERVERS__<NAME>__TOKEN_ENDPOINT``" in page
    assert "``ORTHANC__MEDIMAGING_ROUTER__BATCH_SIZE``" in page and "1 to 1000" in page


def names(pattern):
    return [os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(REPO, pattern))]


def built_site(root, leave_out=()):
    """A fake built rst folder with every page the check looks for, except those named in leave_out."""
    pages = root / "collections" / "medimaging" / "orthanc"
    pages.mkdir(parents=True)
    for module in names("plugins/modules/*.py"):
        if module != "__init__" and module not in leave_out:
            (pages / f"{module}_module.rst").write_text("")
    for flt in names("plugins/filter/*.yml"):
        (pages / f"{flt}_filter.rst").write_text("")
    for spec in glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml")):
        with open(spec, encoding="utf-8") as handle:
            entries = yaml.safe_load(handle)["argument_specs"]
        (pages / f"{spec.split(os.sep)[-3]}_role.rst").write_text(
            "\n".join(f"Entry point ``{e}`` -- x" for e in entries if e not in leave_out))
    (root / "scenarios.rst").write_text(
        "\n".join(f"``{p}.yml``" for p in names("playbooks/*.yml") if p not in leave_out))
    sections = [importlib.import_module(m).SECTION for m in plugin_settings.SECTION_MODULES]
    (root / "plugin.rst").write_text("\n".join(f"``{s}``" for s in sections if s not in leave_out))


def test_coverage_check_passes_a_complete_site(tmp_path):
    built_site(tmp_path)
    assert check_coverage.missing(str(tmp_path)) == []


def test_coverage_check_names_what_is_missing(tmp_path):
    built_site(tmp_path, leave_out=("orthanc_info", "rotate_secrets", "hybrid", "MedimagingPriors"))
    assert sorted(check_coverage.missing(str(tmp_path))) == [
        "module orthanc_info: no page",
        "playbook hybrid.yml: not on the scenarios page",
        "plugin section MedimagingPriors: not on the plugin page",
        "role orthanc_container_app: entry point rotate_secrets not on its page",
    ]
