"""A moto server in this process on 127.0.0.1 (a free port), with the lab's gap fixes, for the collection's own AWS
modules; aws_module_runner runs a module in-process against it and records the API calls it made."""
import boto3
import pytest
from moto.budgets.responses import BudgetsResponse
from moto.server import ThreadedMotoServer

from lab.aws import gaps

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint():
    if not hasattr(BudgetsResponse, "update_budget"):  # once per process: apply() wraps moto's methods
        gaps.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield "http://%s:%d" % (host, port)
    finally:
        server.stop()


@pytest.fixture()
def aws(moto_endpoint):
    """A boto3 client factory for the test's own reads and set-up."""
    def client(service):
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return client
