"""Run a collection module in-process against a FakeArm and return its JSON result."""
import importlib
import io
import json
from contextlib import redirect_stdout

from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.medimaging.orthanc.plugins.module_utils import azure_module
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_clients import AzureClients
from fake_arm import BASE, SUBSCRIPTION, FakeCredential

AUTH = {"subscription_id": SUBSCRIPTION, "arm_endpoint": BASE, "auth_source": "auto"}


def run_module(name, args, arm, check_mode=False, diff=True):
    module = importlib.import_module("ansible_collections.medimaging.orthanc.plugins.modules." + name)
    azure_module.CLIENTS_FACTORY = lambda settings: AzureClients(
        settings, credential=FakeCredential(), transport=arm.transport(), polling_interval=0)
    full = dict(AUTH, **args)
    full["_ansible_check_mode"] = check_mode
    full["_ansible_diff"] = diff
    out = io.StringIO()
    # A module runs in a process of its own. When another test imported controller code (ansible.template, the
    # DataLoader), ansible-core believes it is the controller and shows warnings instead of returning them.
    was_controller, ansible_internal.is_controller = ansible_internal.is_controller, False
    try:
        with patch_module_args(full), redirect_stdout(out):
            try:
                module.main()
            except SystemExit:
                pass
    finally:
        azure_module.CLIENTS_FACTORY = None
        ansible_internal.is_controller = was_controller
    text = out.getvalue()
    return json.loads(text[text.index("{"):])
