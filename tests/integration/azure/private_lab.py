"""A private lab (its own emulator, from this tree) for one test module, and module options aimed at it.

For the resource types whose rules and behaviours live in this tree's emulator: a lab already running elsewhere
may be older. Stopped and removed when the module's tests end.
"""
import contextlib
import os

from lab.throwaway import throwaway_lab


@contextlib.contextmanager
def private_lab(prefix):
    """`python -m lab env` values of a throwaway lab, with REQUESTS_CA_BUNDLE trusting it meanwhile."""
    with throwaway_lab(prefix=prefix) as the_lab:
        values = the_lab.env()
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = values["ca_bundle"]  # azure-identity's token calls to the lab
        try:
            yield values
        finally:
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous


def module_auth(lab_env):
    """The common Azure auth options of the collection's modules, as the lab admin."""
    return {"auth_source": "env", "subscription_id": lab_env["subscription_id"], "tenant": lab_env["tenant_id"],
            "client_id": lab_env["client_id"], "secret": lab_env["client_secret"],
            "arm_endpoint": lab_env["arm_endpoint"], "authority_host": lab_env["authority_host"],
            "ca_bundle": lab_env["ca_bundle"]}
