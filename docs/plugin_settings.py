"""Writes the plugin's settings reference (plugin-settings.rst) from its one configuration schema, so the site lists
every key of every feature section with its type, default, range and container variable, and cannot drift from the
code. Meanings stay in files/orthanc-plugin/README.md. Usage: python docs/plugin_settings.py OUT_DIR (docs/build.sh).
"""
import importlib
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "files", "orthanc-plugin"))

# The feature sections, in the order the plugin page presents them (module holding SECTION and FIELDS).
SECTION_MODULES = ("medimaging_plugin.config.oauth", "medimaging_plugin.router.config",
                   "medimaging_plugin.priors.config", "medimaging_plugin.archive.config",
                   "medimaging_plugin.storage.config")


def rows(fields, key_path, env_path):
    """(key, type, default, range, variable) for every key; an object's keys and a map's entries nest below it."""
    from medimaging_plugin.names import env_name
    for key, field in fields.items():
        env = env_path + "__" + env_name(key)
        limits = "%s to %s" % field.limits if field.limits else ""
        default = "" if field.default is None else json.dumps(field.default)
        kind = "map of %ss" % field.what if field.entries is not None else field.kind.__name__
        yield key_path + key, kind, default, limits, env
        if field.fields:
            yield from rows(field.fields, key_path + key + ".", env)
        if field.entries:
            yield from rows(field.entries, "%s%s.<name>." % (key_path, key), env + "__<NAME>")


def page():
    from medimaging_plugin.names import env_name
    lines = ["Plugin settings", "===============", "",
             "Every key of the plugin's feature sections, generated from the plugin's configuration schema. A key is",
             "set in Orthanc's JSON configuration or, in containers, by its variable (which wins); unknown keys are",
             "errors. What each key means: ``files/orthanc-plugin/README.md``; the features: :doc:`plugin`.", ""]
    for name in SECTION_MODULES:
        module = importlib.import_module(name)
        title = "``%s``" % module.SECTION
        lines += [title, "-" * len(title), "", ".. list-table::", "   :header-rows: 1", "",
                  "   * - Key", "     - Type", "     - Default", "     - Range", "     - Container variable"]
        for row in rows(module.FIELDS, "", "ORTHANC__" + env_name(module.SECTION)):
            lines.append("   * - ``%s``" % row[0])
            lines += [("     - " + ("``%s``" % cell if index in (2, 4) else cell)) if cell else "     -"
                      for index, cell in enumerate(row[1:], 1)]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    with open(os.path.join(sys.argv[1], "plugin-settings.rst"), "w", encoding="utf-8") as handle:
        handle.write(page())
