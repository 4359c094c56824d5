"""Call a rule checker as ARM would and return the refusal's (status, code, message), or None when accepted."""
from lab.azure import providers
from lab.azure.arm_paths import ArmPath
from lab.azure.web import HttpError

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/"


def arm_path(tail, method="PUT"):
    return ArmPath(SUB + tail, method)


def refusal(call, *args):
    try:
        call(*args)
    except HttpError as err:
        return err.status, err.code, err.message
    return None


def check_body(tail, body):
    """The whole ARM check (envelope + the type's rules) for a PUT to `tail` with `body`."""
    from lab.azure import rules
    path = arm_path(tail)
    return refusal(rules.check, providers.lookup(path.type), path, body)
