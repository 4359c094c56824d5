"""API errors as Kubernetes Status bodies (every error the API answers is one of these)."""
from lab.kube.contracts import Conflict

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           406: "NotAcceptable", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid",
           500: "InternalError"}


class ApiError(Exception):
    def __init__(self, code, message, reason=None, details=None):
        super().__init__(message)
        self.code, self.message = code, message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


class ConflictError(ApiError, Conflict):
    def __init__(self, message, reason="Conflict", details=None):
        super().__init__(409, message, reason, details)


def _resource_name(rtype):
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


def not_found(rtype, name):
    return ApiError(404, f'{_resource_name(rtype)} "{name}" not found',
                    details={"name": name, "group": rtype.group, "kind": rtype.plural})


def already_exists(rtype, name):
    return ConflictError(f'{_resource_name(rtype)} "{name}" already exists', reason="AlreadyExists",
                         details={"name": name, "group": rtype.group, "kind": rtype.plural})


def stale(rtype, name):
    return ConflictError(f'Operation cannot be fulfilled on {_resource_name(rtype)} "{name}": the object has been '
                         "modified; please apply your changes to the latest version and try again",
                         details={"name": name, "group": rtype.group, "kind": rtype.plural})


def invalid(rtype, name, message):
    return ApiError(422, f'{rtype.kind} "{name}" is invalid: {message}',
                    details={"name": name, "group": rtype.group, "kind": rtype.kind})


def forbidden(user, verb, rtype, namespace, name="", why=""):
    """kube-apiserver's RBAC wording."""
    target = f'{rtype.plural}.{rtype.group}' if rtype.group else rtype.plural
    message = f'{target}{(" " + repr(name).replace(chr(39), chr(34))) if name else ""} is forbidden: User ' \
              f'"{user}" cannot {verb} resource "{rtype.plural}" in API group "{rtype.group}"'
    message += f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    if why:
        message += f": {why}"
    return ApiError(403, message, details={"name": name, "group": rtype.group, "kind": rtype.plural})
