"""Parse ARM request paths into scope, provider namespace, resource type and name (or a collection)."""
import re

from lab.azure.web import HttpError

_SUB = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_RG = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)\Z", re.IGNORECASE)


class ArmPath:
    """path = {scope}/providers/{namespace}/{type}/{name}[/{type}/{name}...][/{action}]

    kind: 'resource' (ends with a name), 'collection' (ends with a type), 'action' (POST name after a resource).
    """

    def __init__(self, path, method):
        self.path = path.rstrip("/")
        marker = self.path.lower().rfind("/providers/")
        if marker < 0:
            raise ValueError("not a provider path")
        self.scope = self.path[:marker]
        segments = self.path[marker + len("/providers/"):].split("/")
        self.namespace = segments[0]
        rest = segments[1:]
        self.action = None
        if method == "POST" and len(rest) >= 3 and len(rest) % 2 == 1:
            self.action = rest[-1]
            rest = rest[:-1]
        self.types = rest[0::2]
        self.names = rest[1::2]
        if not self.types:
            raise ValueError("provider path without a resource type")
        self.kind = "action" if self.action else ("resource" if len(self.names) == len(self.types) else "collection")
        self.type = "/".join([self.namespace, *self.types])

    @property
    def resource_id(self):
        parts = [self.scope, "providers", self.namespace]
        for resource_type, name in zip(self.types, self.names):
            parts += [resource_type, name]
        return "/".join(parts)

    @property
    def parent_id(self):
        """The parent resource (nested types) or None for a top-level type."""
        if len(self.names) < 2 and not (self.kind == "collection" and self.names):
            return None
        parts = [self.scope, "providers", self.namespace]
        for resource_type, name in list(zip(self.types, self.names))[: max(len(self.types) - 1, 0)]:
            parts += [resource_type, name]
        return "/".join(parts)

    @property
    def name(self):
        return self.names[-1] if self.kind in ("resource", "action") else None


def subscription_of(path):
    found = _SUB.match(path)
    return found.group(1) if found else None


def resource_group_of(resource_id):
    found = re.match(r"^/subscriptions/[^/]+/resourcegroups/([^/]+)", resource_id, re.IGNORECASE)
    return found.group(1) if found else None


def resource_group_id(subscription_id, name):
    return f"/subscriptions/{subscription_id}/resourceGroups/{name}"


def match_resource_group(path):
    found = _RG.match(path.rstrip("/"))
    return found.groups() if found else None


def require_api_version(request):
    version = request.query.get("api-version")
    if not version:
        raise HttpError(400, "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.")
    return version
