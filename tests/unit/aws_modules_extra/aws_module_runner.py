"""Run one of the collection's AWS modules in-process against the test's moto server: its JSON result and the API
operations it called (so a test can prove check mode only read, and bad input called nothing)."""
import importlib
import io
import json
from contextlib import redirect_stdout

from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.medimaging.orthanc.plugins.module_utils import aws_client

CONNECTION = {"region": "us-east-1", "access_key": "testing", "secret_key": "testing"}


def run_module(name, args, endpoint, check_mode=False, diff=True):
    module = importlib.import_module("ansible_collections.medimaging.orthanc.plugins.modules." + name)
    calls = []
    original = aws_client.AWSModule.client

    def recording_client(self, service, region=None):
        client = original(self, service, region)
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
        return client

    full = dict(CONNECTION, endpoint_url=endpoint, **args)
    full["_ansible_check_mode"] = check_mode
    full["_ansible_diff"] = diff
    out = io.StringIO()
    was_controller, ansible_internal.is_controller = ansible_internal.is_controller, False
    aws_client.AWSModule.client = recording_client
    try:
        with patch_module_args(full), redirect_stdout(out):
            try:
                module.main()
            except SystemExit:
                pass
    finally:
        aws_client.AWSModule.client = original
        ansible_internal.is_controller = was_controller
    text = out.getvalue()
    result = json.loads(text[text.index("{"):])
    result["_calls"] = calls
    return result


def writes(calls):
    """The calls that are not reads."""
    return [call for call in calls if not call.startswith(("Describe", "Get", "List"))]
