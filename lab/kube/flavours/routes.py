"""route.openshift.io/v1 Route: the resource, OpenShift's defaulting and validation of it, and its Admitted status.

Defaulting (as the API and the default router do): an empty spec.host becomes NAME-NAMESPACE.<apps domain>,
spec.to.weight 100, spec.wildcardPolicy None. Validation answers 422 with OpenShift's field words.
"""
import datetime

from lab.kube.contracts import AdmissionDenied, ResourceType

API_VERSION = "route.openshift.io/v1"
ROUTE = ResourceType("route.openshift.io", "v1", "Route", "routes", subresources=("status",))
TERMINATIONS = ("edge", "passthrough", "reencrypt")
INSECURE_POLICIES = ("", "None", "Allow", "Redirect")
ROUTER_NAME = "default"


def default_host(route, apps_domain):
    meta = route["metadata"]
    return f"{meta['name']}-{meta.get('namespace', 'default')}.{apps_domain}"


def validate(route):
    """OpenShift's refusals for the fields the router reads: a list of 'field: reason' strings."""
    spec, problems = route.get("spec") or {}, []
    target = spec.get("to") or {}
    if target.get("kind", "Service") != "Service":
        problems.append(f'spec.to.kind: Invalid value: "{target.get("kind")}": must reference a Service')
    if not target.get("name"):
        problems.append("spec.to.name: Required value")
    if spec.get("path") and not spec["path"].startswith("/"):
        problems.append(f'spec.path: Invalid value: "{spec["path"]}": path must begin with /')
    tls = spec.get("tls")
    if tls:
        termination, policy = tls.get("termination", ""), tls.get("insecureEdgeTerminationPolicy", "")
        if termination not in TERMINATIONS:
            problems.append(f'spec.tls.termination: Unsupported value: "{termination}": supported values: '
                            + ", ".join(f'"{t}"' for t in TERMINATIONS))
        if policy not in INSECURE_POLICIES:
            problems.append(f'spec.tls.insecureEdgeTerminationPolicy: Unsupported value: "{policy}": supported '
                            'values: "Allow", "None", "Redirect"')
        if termination == "passthrough":
            if policy == "Allow":
                problems.append('spec.tls.insecureEdgeTerminationPolicy: Invalid value: "Allow": '
                                "InsecureEdgeTerminationPolicy is only allowed for edge and reencrypt")
            for key in ("certificate", "key", "caCertificate", "destinationCACertificate"):
                if tls.get(key):
                    problems.append(f"spec.tls.{key}: Invalid value: \"redacted {key} data\": passthrough "
                                    f"termination does not support certificates")
            if spec.get("path"):
                problems.append(f'spec.path: Invalid value: "{spec["path"]}": passthrough termination does not '
                                "support paths")
        if termination == "edge" and tls.get("destinationCACertificate"):
            problems.append('spec.tls.destinationCACertificate: Invalid value: "redacted destination ca '
                            'certificate data": edge termination does not support destination certificates')
        if bool(tls.get("certificate")) != bool(tls.get("key")):
            problems.append("spec.tls.key: Invalid value: \"\": certificate and key must both be given")
    return problems


class RouteAdmission:
    """Defaults and validates Routes on CREATE and UPDATE."""
    name = "route.openshift.io/RouteValidation"
    mutating = True

    def __init__(self, apps_domain):
        self.apps_domain = apps_domain             # a function: the domain is known once the cluster has a name

    def admit(self, request):
        if request.resource.plural != "routes" or request.operation not in ("CREATE", "UPDATE") \
                or request.subresource or not request.obj:
            return
        route = request.obj
        route.setdefault("metadata", {}).setdefault("namespace", request.namespace)
        spec = route.setdefault("spec", {})
        if not spec.get("host"):
            spec["host"] = default_host(route, self.apps_domain())
        spec.setdefault("wildcardPolicy", "None")
        if isinstance(spec.get("to"), dict):
            spec["to"].setdefault("kind", "Service")
            spec["to"].setdefault("weight", 100)
        problems = validate(route)
        if problems:
            raise AdmissionDenied("; ".join(problems), code=422, reason="Invalid")


def admitted_status(route, apps_domain, previous=None):
    """status.ingress as the default router writes it; the transition time is kept while the host is the same."""
    host = route["spec"]["host"]
    for ingress in (previous or {}).get("ingress") or []:
        if ingress.get("routerName") == ROUTER_NAME and ingress.get("host") == host:
            return previous
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"ingress": [{"host": host, "routerName": ROUTER_NAME, "wildcardPolicy": "None",
                         "routerCanonicalHostname": f"router-default.{apps_domain}",
                         "conditions": [{"type": "Admitted", "status": "True", "lastTransitionTime": stamp}]}]}
