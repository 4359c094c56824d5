"""Run a collection module in-process with real credentials and clients (no fakes) and return its result."""
import importlib
import io
import json
from contextlib import redirect_stdout

from ansible.module_utils.testing import patch_module_args


def run(name, args, auth, check_mode=False):
    module = importlib.import_module("ansible_collections.medimaging.orthanc.plugins.modules." + name)
    full = dict(auth, **args)
    full["_ansible_check_mode"] = check_mode
    full["_ansible_diff"] = True
    out = io.StringIO()
    with patch_module_args(full), redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    text = out.getvalue()
    return json.loads(text[text.index("{"):])
