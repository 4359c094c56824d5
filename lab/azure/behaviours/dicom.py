"""Microsoft.HealthcareApis/workspaces/dicomservices: each service is a real Orthanc (DICOMweb plugin)
behind the emulator's HTTPS at <serviceUrl>/v1/ and /v2/. The proxy lets a request through only with a
token for the DICOM audience whose principal holds DICOM Data Owner (any verb) or Reader (reads); STOW-RS
then goes through the conformance layer (lab/azure/dicom_conformance.py: Azure's statement v2 rules),
QIDO through Azure's query limits, creates and deletes into the service's change feed (a file in the service's
folder, so it survives emulator restarts with the service's Orthanc), WADO straight to Orthanc
(lab/azure/dicom_backend.py).

Orthanc 1.10 listens on 0.0.0.0 whatever we ask, so it is locked down: HTTP authentication with a
password only the emulator knows, no remote access, no DICOM port.
"""
import os
import secrets
import shutil
import threading

from lab.azure import dicom_changefeed, rbac
from lab.azure.container_apps import private_access
from lab.azure.behaviours import Behaviour
from lab.azure.dicom_backend import OrthancDicomWeb, serve
from lab.azure.tokens import TokenError
from lab.azure.web import HttpError, Response
from lab.orthanc import OrthancProcess
from lab.proc import free_port

DICOM_AUDIENCE = "https://dicom.healthcareapis.azure.com"
DATA_ACTION = "Microsoft.HealthcareApis/workspaces/dicomservices/resources/{}"
_LOCK = threading.Lock()


def url_name(resource_id):
    """<workspace>-<service>, the host label Azure uses; here a path segment under /dicom/."""
    parts = resource_id.split("/")
    return f"{parts[-3]}-{parts[-1]}".lower()


def orthanc_for(ctx, record):
    private = record["private"]
    name = private["urlName"]
    config = {
        "Name": f"lab-dicom-{name}", "HttpPort": private["orthancPort"], "DicomServerEnabled": False,
        "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {"emulator": private["orthancPassword"]},
        "DicomWeb": {"Enable": True, "Root": f"/dicom/{name}/v2/", "EnableWado": False},
        "StableAge": 2, "MaximumStorageCacheSize": 0,
    }
    return OrthancProcess(private["workdir"], config=config, plugins=["DicomWeb"], name="orthanc",
                          auth=("emulator", private["orthancPassword"]))


class DicomService(Behaviour):
    def prepare(self, ctx, record, previous):
        body, private = record["body"], record["private"]
        name = url_name(body["id"])
        private.setdefault("urlName", name)
        private.setdefault("orthancPassword", secrets.token_urlsafe(24))
        private.setdefault("workdir", os.path.join(ctx.layout.dicom_dir, name))
        service_url = f"{ctx.base_url}/dicom/{name}"
        props = body.setdefault("properties", {})
        props["serviceUrl"] = service_url
        props["authenticationConfiguration"] = {"authority": f"{ctx.base_url}/{ctx.facts['tenantId']}",
                                                "audiences": [DICOM_AUDIENCE, service_url]}
        props.setdefault("publicNetworkAccess", "Enabled")
        props.setdefault("eventState", "Disabled")
        props.setdefault("privateEndpointConnections", [])

    def provision(self, ctx, record):
        with _LOCK:
            if not record["private"].get("orthancPort"):
                port = free_port()
                ctx.store.update_body(record["body"]["id"], lambda b, p: p.update(orthancPort=port))
                record["private"]["orthancPort"] = port
            orthanc = orthanc_for(ctx, record)
            if not orthanc.pid or not _alive(orthanc.pid):
                orthanc.start(timeout=60)

    def resume(self, ctx, record):
        if record["private"].get("orthancPort"):
            self.provision(ctx, record)

    def shutdown(self, ctx, record):
        if record["private"].get("orthancPort"):
            orthanc_for(ctx, record).stop()

    def deprovision(self, ctx, record):
        if record["private"].get("orthancPort"):
            orthanc_for(ctx, record).stop()
        dicom_changefeed.forget(changefeed_path(record["private"]))
        shutil.rmtree(record["private"].get("workdir", "/nonexistent"), ignore_errors=True)


def changefeed_path(private):
    return os.path.join(private.get("workdir", "/nonexistent"), "changefeed.jsonl")


def _alive(pid):
    from lab.proc import pid_alive
    return pid_alive(pid)


def proxy(ctx, request):
    """Serve /dicom/<name>/(v1|v2)/... after authentication and the DICOM data-role check."""
    parts = request.raw_path.split("/", 4)  # '', 'dicom', name, version, rest
    if len(parts) < 4 or parts[3] not in ("v1", "v2"):
        raise HttpError(404, "NotFound", "DICOMweb lives under /v1/ and /v2/ of the service URL.")
    name = parts[2].lower()
    found = ctx.store.resources(lambda r: r["private"].get("urlName") == name
                                and r["body"]["type"].lower() == "microsoft.healthcareapis/workspaces/dicomservices")
    if not found:
        raise HttpError(404, "NotFound", f"No DICOM service answers at /dicom/{name}.")
    record = found[0]
    private_access.require(ctx, request, record["body"], [record["body"]["id"], record["body"]["id"].rsplit(
        "/dicomservices/", 1)[0]], private_access.dicom_refusal())
    service_url = record["body"]["properties"]["serviceUrl"]
    challenge = {"WWW-Authenticate": f'Bearer authorization_uri="{ctx.base_url}/{ctx.facts["tenantId"]}", '
                                     f'resource_id="{DICOM_AUDIENCE}", realm="{service_url}"'}
    auth = request.header("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise HttpError(401, "AuthenticationFailed", "Authentication failed: a bearer token is required.", challenge)
    try:
        claims = ctx.tokens.verify(auth[7:].strip(), (DICOM_AUDIENCE, service_url, DICOM_AUDIENCE + "/"))
    except TokenError as err:
        raise HttpError(401, "AuthenticationFailed", f"Authentication failed: {err.reason}.", challenge) from None
    request.principal = claims["oid"]
    verb = {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(request.method, "write")
    assignments = [r["body"] for r in ctx.store.resources(
        lambda r: r["body"]["type"].lower() == "microsoft.authorization/roleassignments")]
    if not rbac.is_allowed(assignments, claims["oid"], record["body"]["id"], DATA_ACTION.format(verb), data=True):
        raise HttpError(403, "Forbidden", f"Authorization failed: principal '{claims['oid']}' needs the DICOM Data "
                        f"{'Reader or Owner' if verb == 'read' else 'Owner'} role on this DICOM service.")
    if record["body"]["properties"].get("provisioningState") != "Succeeded":
        raise HttpError(503, "ServiceUnavailable", "The DICOM service is still provisioning; retry shortly.",
                        {"Retry-After": "1"})
    private = record["private"]
    backend = OrthancDicomWeb(private["orthancPort"], "emulator", private["orthancPassword"], f"/dicom/{name}/v2/")
    try:
        status, data, headers = serve(backend, request.method, parts[4] if len(parts) > 4 else "",
                                      request.query_string, request.headers, request.body or b"",
                                      ctx.base_url.split("://", 1)[1], f"{service_url}/{parts[3]}",
                                      feed=dicom_changefeed.for_path(changefeed_path(private)))
    except OSError as err:
        raise HttpError(502, "BadGateway", f"The DICOM service's Orthanc did not answer: {err}") from err
    return Response(status, data, headers)
