"""Azure Policy assignments (Microsoft.Authorization/policyAssignments) of the built-in definitions the lab knows.

Refused as Azure Policy refuses: a definition that does not exist (the lab knows the Kubernetes built-ins below,
their parameters copied from Azure/azure-policy built-in-policies/policyDefinitions/Kubernetes), a parameter the
definition does not declare, a required one missing, a value of the wrong type or outside allowedValues, a value
not wrapped in {"value": ...}, an enforcementMode other than Default/DoNotEnforce, a changed definition, a name
Azure does not take. properties.scope is set from the request path, as ARM sets it.

Nothing is enforced: no Gatekeeper runs in the lab's clusters.
"""
import re

from lab.azure.arm_paths import ArmPath
from lab.azure.behaviours import Behaviour
from lab.azure.behaviours.aks import bad
from lab.azure.web import HttpError

EFFECTS = ["audit", "Audit", "deny", "Deny", "disabled", "Disabled"]
SELECTION = {"excludedNamespaces": ("Array", None), "namespaces": ("Array", None), "labelSelector": ("Object", None),
             "excludedContainers": ("Array", None), "effect": ("String", EFFECTS)}
# guid -> (displayName, {parameter: (type, allowedValues)}, required parameters)
BUILT_INS = {
    "95edb821-ddaf-4404-9732-666045e056b4": (
        "Kubernetes cluster should not allow privileged containers",
        dict(SELECTION, excludedImages=("Array", None)), ()),
    "e345eecc-fa47-480f-9e88-67dcc122b164": (
        "Kubernetes cluster containers CPU and memory resource limits should not exceed the specified limits",
        dict(SELECTION, excludedImages=("Array", None), warn=("Boolean", None), cpuLimit=("String", None),
             memoryLimit=("String", None)), ("cpuLimit", "memoryLimit")),
    "febd0533-8e55-448f-b837-bd0e06f16469": (
        "Kubernetes cluster containers should only use allowed images",
        dict(SELECTION, allowedContainerImagesRegex=("String", None)), ("allowedContainerImagesRegex",)),
}
TYPES = {"String": str, "Array": list, "Object": dict, "Boolean": bool, "Integer": int}
DEFINITION = re.compile(r"/providers/Microsoft\.Authorization/policyDefinitions/([^/]+)\Z", re.IGNORECASE)
NAME = re.compile(r"[^%&\\?/]{0,63}[^%&\\?/. ]\Z")


def definition_of(definition_id):
    found = DEFINITION.match(definition_id or "")
    if not found or found.group(1).lower() not in BUILT_INS:
        raise HttpError(404, "PolicyDefinitionNotFound", f"The policy definition '{definition_id}' could not be "
                        "found (the lab knows the built-in Kubernetes definitions "
                        f"{', '.join(sorted(BUILT_INS))}).")
    return BUILT_INS[found.group(1).lower()]


class PolicyAssignment(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        if not NAME.match(body["name"]):
            bad(f"The policy assignment name '{body['name']}' is invalid: 1-64 characters without %&\\?/, not "
                "ending with a dot or a space.", "InvalidPolicyAssignmentName")
        definition_id = props.get("policyDefinitionId")
        if kept and str(kept.get("policyDefinitionId", "")).lower() != str(definition_id or "").lower():
            bad("The policy definition of an existing assignment cannot be changed; delete the assignment and "
                "create it again.", "InvalidPolicyAssignmentUpdate")
        _name, declared, required = definition_of(definition_id)
        self.check_parameters(props.get("parameters") or {}, declared, required)
        mode = props.setdefault("enforcementMode", "Default")
        if mode not in ("Default", "DoNotEnforce"):
            bad(f"properties.enforcementMode '{mode}' is not one of Default, DoNotEnforce.")
        props["scope"] = ArmPath(body["id"], "PUT").scope
        props.setdefault("metadata", {}).update(assignedBy="medimaging lab")

    @staticmethod
    def check_parameters(given, declared, required):
        for name, wrapped in given.items():
            if name not in declared:
                bad(f"The policy parameter '{name}' is not defined in the policy definition (it declares "
                    f"{', '.join(sorted(declared))}).", "UndefinedPolicyParameter")
            if not isinstance(wrapped, dict) or set(wrapped) != {"value"}:
                bad(f"The policy parameter '{name}' must be an object with a single 'value'.",
                    "InvalidPolicyParameters")
            kind, allowed = declared[name]
            value = wrapped["value"]
            if not isinstance(value, TYPES[kind]) or (kind == "Integer" and isinstance(value, bool)):
                bad(f"The policy parameter '{name}' must be of type {kind}.", "InvalidPolicyParameterValue")
            if allowed is not None and value not in allowed:
                bad(f"The policy parameter '{name}' value '{value}' is not allowed; allowed values are "
                    f"{', '.join(allowed)}.", "InvalidPolicyParameterValue")
        missing = [name for name in required if name not in given]
        if missing:
            bad(f"The policy assignment is missing the required parameters {', '.join(missing)} (they have no "
                "default).", "MissingPolicyParameter")
