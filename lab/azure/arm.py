"""Azure Resource Manager: subscriptions, resource groups, generic resources under providers, LROs, RBAC.

Each request is authorized against the role assignments in the state (ARM's own check), each body is
validated with the SDK model for the api-version it names, each answer has the shape real ARM gives.
"""
import copy
import re
import uuid

from lab.azure import providers, rbac, rules
from lab.azure.arm_paths import (ArmPath, match_resource_group, require_api_version, resource_group_id,
                                 resource_group_of, subscription_of)
from lab.azure.behaviours import load as load_behaviour
from lab.azure.lro import TERMINAL, settle_delay, utcnow
from lab.azure.validation import UnsupportedApiVersion, model_class, validate
from lab.azure.web import HttpError, Response

_OP_URL = re.compile(r"^/subscriptions/[^/]+/providers/([^/]+)/locations/[^/]+/(operationStatuses|operationResults)/"
                     r"([^/]+)\Z", re.IGNORECASE)
RG_TYPE = "Microsoft.Resources/resourceGroups"
READONLY_TOP = ("id", "name", "type", "systemData", "etag")
MAX_BODY = 4 * 1024 * 1024  # ARM's limit on a request body


def normalize_location(location):
    return location.replace(" ", "").lower() if isinstance(location, str) else location


def not_found(resource_type, name, resource_id):
    group = resource_group_of(resource_id)
    where = f" under resource group '{group}'" if group else ""
    return HttpError(404, "ResourceNotFound", f"The Resource '{resource_type}/{name}'{where} was not found. "
                     "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def merge_patch(target, patch):
    """ARM PATCH: objects merge recursively; tags and arrays are replaced as a whole."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and key != "tags":
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class Arm:
    def __init__(self, ctx):
        self.ctx = ctx
        self.sub = ctx.facts["subscriptionId"]
        self.tenant = ctx.facts["tenantId"]

    # Entry ------------------------------------------------------------------------------------------
    def handle(self, request, principal):
        if len(request.body or b"") > MAX_BODY:
            raise HttpError(413, "RequestContentTooLarge", f"The request content size exceeds the limit of "
                            f"{MAX_BODY // (1024 * 1024)} MB.")
        path = request.path.rstrip("/") or "/"
        lower = path.lower()
        if lower == "/subscriptions":
            self.authorize(principal, f"/subscriptions/{self.sub}", "Microsoft.Resources/subscriptions/read")
            return Response(200, {"value": [self.subscription_body()]})
        if lower == "/tenants":
            return Response(200, {"value": [{"id": f"/tenants/{self.tenant}", "tenantId": self.tenant,
                                             "displayName": "medimaging lab", "tenantCategory": "Home"}]})
        sub = subscription_of(path)
        if sub is None:
            raise HttpError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")
        if sub.lower() != self.sub.lower():
            raise HttpError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        rules.check_api_version(require_api_version(request))
        if lower == f"/subscriptions/{self.sub}".lower():
            self.authorize(principal, path, "Microsoft.Resources/subscriptions/read")
            return Response(200, self.subscription_body())
        found = _OP_URL.match(path)
        if found:
            return self.operation(found.group(2), found.group(3))
        rg = match_resource_group(path)
        if rg:
            return self.resource_group(request, principal, rg[1])
        if lower == f"/subscriptions/{self.sub}/resourcegroups".lower():
            self.authorize(principal, path, "Microsoft.Resources/subscriptions/resourceGroups/read")
            groups = self.ctx.store.resources(lambda r: r["body"]["type"] == RG_TYPE)
            return Response(200, {"value": [g["body"] for g in groups]})
        if lower.endswith("/resources"):
            return self.list_generic(principal, path[: -len("/resources")])
        if re.match(r"^/subscriptions/[^/]+/providers(/[^/]+)?(/register)?\Z", path, re.IGNORECASE):
            return self.provider_registration(path)
        try:
            arm_path = ArmPath(path, request.method)
        except ValueError:
            raise HttpError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")
        if arm_path.type.lower() == rbac.ROLE_TYPE.lower():
            return self.role_definitions(request, arm_path)
        if arm_path.kind == "collection" and request.method == "POST" and not arm_path.names:
            return self.provider_action(request, principal, arm_path)
        resource_type = providers.lookup(arm_path.type)
        if resource_type is None:
            raise HttpError(400, "InvalidResourceType", f"The resource type '{'/'.join(arm_path.types)}' could "
                            f"not be found in the namespace '{arm_path.namespace}' for api version "
                            f"'{request.query.get('api-version')}'.")
        self.check_api_version(resource_type, request.query["api-version"])
        self.check_scope_exists(arm_path.scope)
        if arm_path.kind == "collection":
            return self.list_resources(principal, resource_type, arm_path)
        if arm_path.kind == "action":
            return self.resource_action(request, principal, resource_type, arm_path)
        method = request.method
        if method in ("GET", "HEAD"):
            return self.get(principal, resource_type, arm_path)
        if method == "PUT":
            return self.put(request, principal, resource_type, arm_path)
        if method == "PATCH":
            return self.patch(request, principal, resource_type, arm_path)
        if method == "DELETE":
            return self.delete(request, principal, resource_type, arm_path)
        raise HttpError(405, "MethodNotAllowed", f"The method '{method}' is not allowed on '{path}'.")

    # Authorization ----------------------------------------------------------------------------------
    def authorize(self, principal, scope, action):
        assignments = [r["body"] for r in self.ctx.store.resources(
            lambda r: r["body"]["type"].lower() == "microsoft.authorization/roleassignments")]
        if not rbac.is_allowed(assignments, principal["oid"], scope, action):
            raise HttpError(403, "AuthorizationFailed",
                            f"The client '{principal.get('appid')}' with object id '{principal['oid']}' does not "
                            f"have authorization to perform action '{action}' over scope '{scope}' or the scope is "
                            "invalid. If access was recently granted, please refresh your credentials.")

    # Subscription, groups, providers ----------------------------------------------------------------
    def subscription_body(self):
        return {"id": f"/subscriptions/{self.sub}", "subscriptionId": self.sub, "tenantId": self.tenant,
                "displayName": "medimaging lab subscription", "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "Lab",
                                         "spendingLimit": "Off"}, "authorizationSource": "RoleBased"}

    def provider_registration(self, path):
        parts = path.rstrip("/").split("/")
        if len(parts) == 4:
            return Response(200, {"value": [self.provider_body(ns) for ns in providers.namespaces()]})
        return Response(200, self.provider_body(parts[4]))

    def provider_body(self, namespace):
        types = [t for t in providers.RESOURCE_TYPES if t.type.split("/")[0].lower() == namespace.lower()]
        return {"id": f"/subscriptions/{self.sub}/providers/{namespace}", "namespace": namespace,
                "registrationState": "Registered" if types else "NotRegistered",
                "resourceTypes": [{"resourceType": t.type.split("/", 1)[1], "locations": [self.ctx.location_name],
                                   "apiVersions": self.ctx.api_versions_of(t)} for t in types]}

    def resource_group(self, request, principal, name):
        rg_id = resource_group_id(self.sub, name)
        record = self.ctx.store.get_resource(rg_id)
        method = request.method
        action = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(method)
        if action is None:
            raise HttpError(405, "MethodNotAllowed", f"The method '{method}' is not allowed on resource groups.")
        rules.check_resource_group_api_version(request.query["api-version"])
        self.authorize(principal, rg_id, f"Microsoft.Resources/subscriptions/resourceGroups/{action}")
        if method in ("GET", "HEAD"):
            if not record:
                if method == "HEAD":
                    return Response(404)
                raise HttpError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
            return Response(204 if method == "HEAD" else 200, None if method == "HEAD" else record["body"])
        if method in ("PUT", "PATCH"):
            body = request.json() or {}
            if not isinstance(body, dict):
                raise self.not_an_object()
            if method == "PATCH":
                if not record:
                    raise HttpError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
                body = merge_patch(copy.deepcopy(record["body"]), body)
            problems = self.validate_with("azure.mgmt.resource.resources", ("ResourceGroup",),
                                          request.query["api-version"], body, "create")
            if problems:
                raise self.invalid(problems)
            rules.check_resource_group(name, body)
            location = normalize_location(body.get("location"))
            if record and record["body"]["location"] != location:
                raise HttpError(409, "InvalidResourceGroupLocation",
                                f"Invalid resource group location '{location}'. The Resource group already exists "
                                f"in location '{record['body']['location']}'.")
            group = {"id": rg_id, "name": name, "type": RG_TYPE, "location": location,
                     "tags": body.get("tags") or {}, "properties": {"provisioningState": "Succeeded"}}
            if body.get("managedBy"):
                group["managedBy"] = body["managedBy"]
            self.ctx.store.put_resource(rg_id, {"body": group, "private": {}})
            return Response(200 if record else 201, group)
        if not record:
            return Response(204)
        self.ctx.store.update_body(rg_id, lambda b, p: b["properties"].update(provisioningState="Deleting"))

        def work():
            settle_delay(self.ctx.settle_seconds)
            for child in sorted(self.ctx.store.children_of(rg_id), key=lambda r: -len(r["body"]["id"])):
                self.remove(child)
            self.ctx.store.delete_resource(rg_id)

        status_url, result_url = self.ctx.operations.begin("delete", rg_id, "Microsoft.Resources", None,
                                                           request.query["api-version"], work)
        return Response(202, None, {"Location": result_url, "Retry-After": self.ctx.operations.retry_after})

    def operation(self, which, op_id):
        if which.lower() == "operationstatuses":
            return self.ctx.operations.status(op_id)
        record = self.ctx.store.get("operations", op_id)
        current = self.ctx.store.get_resource(record["resourceId"]) if record else None
        return self.ctx.operations.result(op_id, current["body"] if current else None)

    # Role definitions (built-in, read-only) --------------------------------------------------------------
    def role_definitions(self, request, arm_path):
        if request.method != "GET":
            raise HttpError(403, "AuthorizationFailed", "The lab offers the built-in role definitions only.")
        if arm_path.kind == "resource":
            guid = arm_path.name.lower()
            if guid not in rbac.BY_GUID:
                raise HttpError(404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID "
                                f"'{arm_path.name}' does not exist.")
            return Response(200, rbac.role_definition(guid, arm_path.scope, self.sub))
        wanted = None
        found = re.search(r"roleName\s+eq\s+'([^']+)'", request.query.get("$filter", ""), re.IGNORECASE)
        if found:
            wanted = found.group(1).lower()
        roles = [rbac.role_definition(r["guid"], arm_path.scope, self.sub) for r in rbac.BUILTIN_ROLES
                 if wanted is None or r["roleName"].lower() == wanted]
        return Response(200, {"value": roles})

    # Generic resources ------------------------------------------------------------------------------------
    def check_api_version(self, resource_type, api_version):
        if not resource_type.package:
            return
        try:
            model_class(resource_type.package, resource_type.put_models or ("_",), api_version)
        except UnsupportedApiVersion as err:
            raise HttpError(400, "NoRegisteredProviderFound",
                            f"No registered resource provider found for location '{self.ctx.location_name}' and "
                            f"API version '{api_version}' for type '{resource_type.type.split('/', 1)[1]}'. The "
                            f"supported api-versions are '{', '.join(err.supported)}'. (The lab validates with "
                            f"the installed SDK {resource_type.package}.)") from None

    def check_scope_exists(self, scope):
        if scope.lower().rstrip("/") == f"/subscriptions/{self.sub}".lower():
            return
        rg = match_resource_group(scope)
        if rg:
            if not self.ctx.store.get_resource(resource_group_id(self.sub, rg[1])):
                raise HttpError(404, "ResourceGroupNotFound", f"Resource group '{rg[1]}' could not be found.")
            return
        if not self.ctx.store.get_resource(scope):
            raise HttpError(404, "ResourceNotFound", f"The scope '{scope}' does not exist.")

    def validate_with(self, package, names, api_version, body, operation, closed=False):
        try:
            cls = model_class(package, names, api_version)
        except UnsupportedApiVersion:
            return []
        return validate(cls, body, operation, closed) if cls else []

    @staticmethod
    def not_an_object():
        return HttpError(400, "InvalidRequestContent", "The request content was invalid: a JSON object is required.")

    def invalid(self, problems):
        return HttpError(400, "InvalidRequestContent", "The request content was invalid: " + "; ".join(problems[:10]))

    def get(self, principal, resource_type, arm_path):
        self.authorize(principal, arm_path.resource_id, f"{resource_type.type}/read")
        record = self.ctx.store.get_resource(arm_path.resource_id)
        if not record:
            raise not_found(resource_type.type, arm_path.name, arm_path.resource_id)
        state = (record["body"].get("properties") or {}).get("provisioningState", "Succeeded")
        # Clients polling the resource itself (201-body types) wait Retry-After, else their default 30 s.
        headers = {} if state in TERMINAL else {"Retry-After": self.ctx.operations.retry_after}
        return Response(200, record["body"], headers)

    def list_resources(self, principal, resource_type, arm_path):
        self.authorize(principal, arm_path.resource_id, f"{resource_type.type}/read")
        if arm_path.parent_id and arm_path.names:
            parent = arm_path.parent_id
            if not self.ctx.store.get_resource(parent):
                raise not_found("/".join([arm_path.namespace, *arm_path.types[:-1]]), arm_path.names[-1], parent)
            prefix = parent.lower() + "/"
        else:
            prefix = arm_path.scope.lower() + "/"
        wanted = resource_type.type.lower()
        found = self.ctx.store.resources(lambda r: r["body"]["type"].lower() == wanted
                                         and r["body"]["id"].lower().startswith(prefix))
        if wanted == "microsoft.authorization/roleassignments":
            return Response(200, {"value": self.filter_assignments(found, arm_path.scope)})
        return Response(200, {"value": [r["body"] for r in found]})

    def filter_assignments(self, _found, scope):
        # Role assignments listed at a scope include those above it (inherited) and below it.
        everything = self.ctx.store.resources(
            lambda r: r["body"]["type"].lower() == "microsoft.authorization/roleassignments")
        out = []
        for record in everything:
            at = record["body"]["properties"]["scope"]
            if rbac.scope_covers(at, scope) or rbac.scope_covers(scope, at):
                out.append(record["body"])
        return out

    def list_generic(self, principal, scope):
        self.authorize(principal, scope, "Microsoft.Resources/subscriptions/resources/read")
        prefix = scope.lower() + "/"
        found = self.ctx.store.resources(lambda r: r["body"]["id"].lower().startswith(prefix)
                                         and r["body"]["type"] != RG_TYPE)
        return Response(200, {"value": [{k: r["body"][k] for k in ("id", "name", "type", "location", "tags", "kind",
                                                                     "sku") if k in r["body"]} for r in found]})

    # Writes --------------------------------------------------------------------------------------------------
    def put(self, request, principal, resource_type, arm_path):
        self.authorize(principal, arm_path.resource_id, f"{resource_type.type}/write")
        body = request.json()
        if not isinstance(body, dict):
            raise self.not_an_object()
        return self.write(request, principal, resource_type, arm_path, body, resource_type.put_models, "create")

    def patch(self, request, principal, resource_type, arm_path):
        self.authorize(principal, arm_path.resource_id, f"{resource_type.type}/write")
        existing = self.ctx.store.get_resource(arm_path.resource_id)
        if not existing:
            raise not_found(resource_type.type, arm_path.name, arm_path.resource_id)
        patch = request.json() or {}
        if not isinstance(patch, dict):
            raise self.not_an_object()
        problems = self.validate_with(resource_type.package, resource_type.patch_models, request.query["api-version"],
                                      patch, "update", resource_type.closed) \
            if resource_type.package and resource_type.patch_models else []
        if problems:
            raise self.invalid(problems)
        merged = merge_patch(copy.deepcopy(existing["body"]), patch)
        return self.write(request, principal, resource_type, arm_path, merged, (), "update", patching=True)

    def write(self, request, principal, resource_type, arm_path, body, models, operation, patching=False):
        api_version = request.query["api-version"]
        rules.check_envelope(resource_type, body)
        if models and resource_type.package:
            problems = self.validate_with(resource_type.package, models, api_version, body, operation,
                                          resource_type.closed)
            if problems:
                raise self.invalid(problems)
        rules.check(resource_type, arm_path, body)
        if arm_path.parent_id and not self.ctx.store.get_resource(arm_path.parent_id):
            raise HttpError(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. "
                            f"Parent resource '{'/'.join(arm_path.names[:-1])}' not found.")
        previous = self.ctx.store.get_resource(arm_path.resource_id)
        if previous and previous["body"].get("properties", {}).get("provisioningState", "Succeeded") not in TERMINAL:
            raise HttpError(409, "AnotherOperationInProgress", f"An operation on '{arm_path.name}' is in progress; "
                            "retry when it completes.")
        record = self.build_record(principal, resource_type, arm_path, body, previous)
        behaviour = load_behaviour(resource_type.behaviour)
        behaviour.prepare(self.ctx, record, previous)
        shape = resource_type.patch if patching else (resource_type.update or resource_type.create) if previous \
            else resource_type.create
        if shape in ("sync", "sync-200"):
            record["body"].setdefault("properties", {})["provisioningState"] = "Succeeded"
            self.ctx.store.put_resource(arm_path.resource_id, record)
            behaviour.provision(self.ctx, record)
            final = self.ctx.store.get_resource(arm_path.resource_id)
            return Response(200 if previous or shape == "sync-200" else 201, final["body"])
        record["body"].setdefault("properties", {})["provisioningState"] = "Updating" if previous else "Accepted"
        self.ctx.store.put_resource(arm_path.resource_id, record)
        resource_id = arm_path.resource_id

        def work():
            settle_delay(self.ctx.settle_seconds)
            self.set_state(resource_id, "Provisioning" if not previous else "Updating")
            try:
                behaviour.provision(self.ctx, self.ctx.store.get_resource(resource_id))
            except Exception:
                self.set_state(resource_id, "Failed")
                raise
            self.set_state(resource_id, "Succeeded")

        status_url, result_url = self.ctx.operations.begin("put", resource_id, arm_path.namespace,
                                                           record["body"].get("location"), api_version, work)
        headers = self.ctx.operations.headers(shape, status_url, result_url)
        if shape in ("202-location", "202-async-location"):
            return Response(202, None, headers)
        return Response(200 if previous else 201, record["body"], headers)

    def set_state(self, resource_id, state):
        self.ctx.store.update_body(resource_id, lambda b, p: b.setdefault("properties", {})
                                   .update(provisioningState=state))

    def build_record(self, principal, resource_type, arm_path, body, previous):
        out = {k: copy.deepcopy(v) for k, v in body.items() if k not in READONLY_TOP}
        if out.get("properties", {}) is None:  # "properties": null means none given, as on Azure
            del out["properties"]
        if resource_type.tracked:
            if not out.get("location"):
                raise HttpError(400, "LocationRequired", "The location property is required for this definition.")
            out["location"] = normalize_location(out["location"])
            if previous and previous["body"].get("location") != out["location"]:
                raise HttpError(409, "InvalidResourceLocation", f"The resource '{arm_path.name}' already exists in "
                                f"location '{previous['body'].get('location')}' in resource group "
                                f"'{resource_group_of(arm_path.resource_id)}'. A resource with the same name cannot be "
                                f"created in location '{out['location']}'. Please select a new resource name.")
        props = out.setdefault("properties", {}) if isinstance(out.get("properties", {}), dict) else {}
        props.pop("provisioningState", None)
        now = utcnow()
        created = (previous or {}).get("body", {}).get("systemData", {})
        who = principal.get("appid", principal["oid"])
        out = {"id": arm_path.resource_id, "name": arm_path.name, "type": resource_type.type, **out,
               "systemData": {"createdBy": created.get("createdBy", who), "createdByType": "Application",
                              "createdAt": created.get("createdAt", now), "lastModifiedBy": who,
                              "lastModifiedByType": "Application", "lastModifiedAt": now}}
        if "identity" in out:
            out["identity"] = self.resolve_identity(out["identity"], (previous or {}).get("body", {}).get("identity"))
        private = copy.deepcopy((previous or {}).get("private", {}))
        return {"body": out, "private": private}

    def resolve_identity(self, identity, previous):
        """Fill principalId/tenantId (system-assigned) and principalId/clientId (user-assigned), as ARM does."""
        if not isinstance(identity, dict):
            raise HttpError(400, "InvalidIdentity", "identity must be an object.")
        kind = (identity.get("type") or "None").replace(" ", "").lower()
        out = {"type": identity.get("type")}
        if "systemassigned" in kind:
            keep = previous if previous and previous.get("principalId") else None
            out["principalId"] = keep["principalId"] if keep else str(uuid.uuid4())
            out["tenantId"] = self.tenant
            out["clientId"] = (keep or {}).get("clientId") or str(uuid.uuid4())  # lab: the MI's app id
        if "userassigned" in kind:
            resolved = {}
            for identity_id in (identity.get("userAssignedIdentities") or {}):
                found = self.ctx.store.get_resource(identity_id)
                if not found or found["body"]["type"].lower() != "microsoft.managedidentity/userassignedidentities":
                    raise HttpError(400, "FailedIdentityOperation", f"Identity operation failed: user assigned "
                                    f"identity '{identity_id}' was not found.")
                props = found["body"]["properties"]
                resolved[found["body"]["id"]] = {"principalId": props["principalId"], "clientId": props["clientId"]}
            out["userAssignedIdentities"] = resolved
        return out

    def delete(self, request, principal, resource_type, arm_path):
        self.authorize(principal, arm_path.resource_id, f"{resource_type.type}/delete")
        record = self.ctx.store.get_resource(arm_path.resource_id)
        if not record:
            return Response(204)
        load_behaviour(resource_type.behaviour).before_delete(self.ctx, record)
        if resource_type.delete == "sync":
            for child in sorted(self.ctx.store.children_of(arm_path.resource_id), key=lambda r: -len(r["body"]["id"])):
                self.remove(child)
            self.remove(record)
            return Response(200, record["body"] if resource_type.key.endswith(("roleassignments", "policyassignments"))
                            else None)
        self.set_state(arm_path.resource_id, "Deleting")

        def work():
            settle_delay(self.ctx.settle_seconds)
            for child in sorted(self.ctx.store.children_of(arm_path.resource_id), key=lambda r: -len(r["body"]["id"])):
                self.remove(child)
            self.remove(self.ctx.store.get_resource(arm_path.resource_id) or record)

        status_url, result_url = self.ctx.operations.begin("delete", arm_path.resource_id, arm_path.namespace,
                                                           record["body"].get("location"),
                                                           request.query["api-version"], work)
        shape = resource_type.delete
        headers = self.ctx.operations.headers(shape if shape != "201-async" else "202-location", status_url,
                                              result_url)
        headers.setdefault("Location", result_url)
        return Response(202, None, headers)

    def remove(self, record):
        resource_type = providers.lookup(record["body"]["type"])
        behaviour = load_behaviour(resource_type.behaviour if resource_type else None)
        behaviour.deprovision(self.ctx, record)
        self.ctx.store.delete_resource(record["body"]["id"])

    # Actions ------------------------------------------------------------------------------------------------
    def resource_action(self, request, principal, resource_type, arm_path):
        action = arm_path.action
        self.authorize(principal, arm_path.resource_id, f"{resource_type.type}/{action}/action")
        if action.lower() not in {a.lower() for a in resource_type.actions}:
            raise HttpError(404, "NotFound", f"The action '{action}' is not available on {resource_type.type}.")
        record = self.ctx.store.get_resource(arm_path.resource_id)
        if not record:
            raise not_found(resource_type.type, arm_path.name, arm_path.resource_id)
        behaviour = load_behaviour(resource_type.behaviour)
        handler = next(getattr(behaviour, name) for name in dir(behaviour) if name.lower() == f"action_{action}".lower())
        body = request.json() or {}
        if not isinstance(body, dict):
            raise self.not_an_object()
        status, body = handler(self.ctx, record, body)
        return Response(status, body)

    def provider_action(self, request, principal, arm_path):
        action = arm_path.types[0]
        if action.lower() == "checknameavailability":
            body = request.json() or {}
            if not isinstance(body, dict) or not all(isinstance(body.get(k) or "", str) for k in ("type", "name")):
                raise HttpError(400, "InvalidRequestContent", "The request content was invalid: an object with "
                                "string 'name' and 'type' is required.")
            wanted = (body.get("type") or "").lower()
            name = (body.get("name") or "").lower()
            taken = self.ctx.store.resources(lambda r: r["body"]["type"].lower() == wanted
                                             and r["body"]["name"].lower() == name)
            if taken:
                return Response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                                      "message": f"The storage account named {name} is already taken."})
            return Response(200, {"nameAvailable": True})
        raise HttpError(404, "NotFound", f"The action '{action}' is not available in the lab.")
