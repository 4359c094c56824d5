"""One moto server and one converge of inventories/aws_lab for the folder (a converge costs 1-3 minutes here)."""
import base64
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aws_harness import Scenario, succeeded  # noqa: E402

from lab.aws.moto import MotoServer  # noqa: E402


@pytest.fixture(scope="session")
def scenario():
    workdir = tempfile.mkdtemp(prefix="medimaging-aws-")
    moto = MotoServer(workdir).start()
    try:
        yield Scenario(moto, workdir)
    finally:
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def converged(scenario):
    """The scenario converged once from nothing: the recap of that run, and the user data it put in the launch
    template (kept here: test_teardown removes the template before test_user_data reads it)."""
    result = succeeded(scenario.play("aws_orthweb.yml"))
    [version] = scenario.client("ec2").describe_launch_template_versions(
        LaunchTemplateName="orthweb-lab-host", Versions=["$Latest"])["LaunchTemplateVersions"]
    result["user_data"] = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    return result
