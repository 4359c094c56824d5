"""Run one of the collection's modules as Ansible runs it: a subprocess reading an args file, diff on."""
import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")  # made by tests/unit/conftest.py


def run_collection_module(name, tmp_path, check=False, **args):
    """The JSON result of plugins/modules/<name> with args (plus check mode and diff, as the task would set them)."""
    args_file = tmp_path / ("%s-args.json" % name)
    args.update({"_ansible_check_mode": check, "_ansible_diff": True})
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    module = "ansible_collections.medimaging.orthanc.plugins.modules." + name
    done = subprocess.run([sys.executable, "-m", module, str(args_file)], capture_output=True, text=True, env=env,
                          check=False)
    # a module that dies before its JSON (an import error, a kill) must say why, not fail in json.loads
    assert done.stdout.strip(), "%s printed nothing (rc=%s): %s" % (name, done.returncode, done.stderr[-3000:])
    return json.loads(done.stdout)
