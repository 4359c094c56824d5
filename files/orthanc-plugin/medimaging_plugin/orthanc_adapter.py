"""The only module that imports `orthanc` (the orthanc-python embedded module).

It turns Orthanc's API into the small interfaces the features use (OrthancApi, a log sink, a
change-event dispatcher, REST callbacks) so that every other module stays testable without Orthanc.
"""

import functools
import json
import os

import orthanc

from . import health as health_routes
from . import http_answers, log, orthanc_compat, request_body, rest
from .archive import rest as archive_rest
from .archive.feature import ArchiveFeature, OrthancArchiveApi
from .log import redact
from .oauth_feature import OAuthFeature
from .priors.feature import PriorsFeature
from .router import rest as router_rest
from .router.feature import RouterFeature
from .storage import rest as storage_rest
from .storage.feature import StorageFeature

LOG = log.get_logger("adapter")


class OrthancApi:
    """Orthanc's internal REST API (no HTTP hop, no authentication needed from inside).

    The *AfterPlugins variants are required: /dicom-web/servers/... is a route of the DICOMweb
    plugin, which the plain RestApiPut/Post (core routes only) answer with "Unknown resource".
    """

    def get_json(self, uri):
        return json.loads(orthanc.RestApiGetAfterPlugins(uri))

    def get_bytes(self, uri):
        return orthanc.RestApiGetAfterPlugins(uri)

    def put(self, uri, body):
        return orthanc.RestApiPutAfterPlugins(uri, body)

    def post(self, uri, body):
        return orthanc.RestApiPostAfterPlugins(uri, body)


class ChangeEvents:
    """One OnChange callback for the whole plugin; features subscribe to change types."""

    def __init__(self):
        self._handlers = {}
        orthanc.RegisterOnChangeCallback(self._dispatch)

    def subscribe(self, change_type, handler, with_resource=False):
        """with_resource=True: handler(resource_id), e.g. the study of STABLE_STUDY."""
        self._handlers.setdefault(change_type, []).append((handler, with_resource))

    def _dispatch(self, change_type, level, resource_id):
        for handler, with_resource in self._handlers.get(change_type, ()):
            try:
                if with_resource:
                    handler(resource_id)
                else:
                    handler()
            except Exception as exc:  # one feature's failure must not break Orthanc or the others
                LOG.error("change handler %s failed: %s", getattr(handler, "__qualname__", handler),
                          redact(exc))


def register_routes(routes):
    """[(regex, handler(method, groups, body) -> (status, content type, bytes[, headers]))] -> Orthanc REST
    callbacks. Every body is bounded (size, nesting) before any handler sees it: request_body.guard."""
    for pattern, handler in routes:

        def callback(output, uri, handler=request_body.guard(handler), **request):
            try:
                status, content_type, payload, *headers = handler(
                    request.get("method"), request.get("groups") or [], request.get("body"))
            except Exception as exc:
                LOG.error("REST %s failed: %s", uri, redact(exc))
                status, content_type, headers = 500, http_answers.JSON, []
                payload = json.dumps({"error": "internal error, see Orthanc's log"}).encode()
            for name, value in (headers[0] if headers else {}).items():
                output.SetHttpHeader(name, value)
            if status == 200:
                output.AnswerBuffer(payload, content_type)
            elif status == 405:
                output.SendMethodNotAllowed(payload.decode().replace("use ", ""))
            else:
                # Orthanc 1.10.1 knows no 429 (it raises and drops the connection): rate limits answer 503.
                orthanc_compat.send_http_status(output, status, payload)  # orthanc-python 4.0 and 5.0 differ

        orthanc.RegisterRestCallback(pattern, callback)


def _register_rest(feature):
    register_routes([(pattern, functools.partial(rest.HANDLERS[route], feature))
                     for route, pattern in rest.ROUTES.items()])


def bootstrap():
    """Called once by entrypoint.py while Orthanc loads the script."""
    log.attach_orthanc_sink(orthanc.LogInfo, orthanc.LogWarning, orthanc.LogError)
    config = json.loads(orthanc.GetConfiguration())
    storage = register_storage(config)
    feature = OAuthFeature.from_config(OrthancApi(), config, os.environ)
    _register_rest(feature)
    events = ChangeEvents()
    health = register_health(events)
    events.subscribe(orthanc.ChangeType.ORTHANC_STARTED, feature.start)
    events.subscribe(orthanc.ChangeType.ORTHANC_STOPPED, feature.stop)
    # Router and priors start after OAuth (subscribed later): the servers they use are registered by then.
    router = RouterFeature.from_config(OrthancApi(), config, os.environ, oauth=feature)
    priors = PriorsFeature.from_config(OrthancApi(), config, os.environ)
    register_routes(router_rest.routes(router, priors))
    priors.retrieved_listeners.append(router.on_retrieved)
    for other in (router, priors):
        events.subscribe(orthanc.ChangeType.ORTHANC_STARTED, other.start)
        events.subscribe(orthanc.ChangeType.ORTHANC_STOPPED, other.stop)
        events.subscribe(orthanc.ChangeType.NEW_STUDY, other.on_new_study, with_resource=True)
    events.subscribe(orthanc.ChangeType.STABLE_STUDY, router.on_stable_study, with_resource=True)
    archive = ArchiveFeature.from_config(OrthancArchiveApi(orthanc.RestApiGet, orthanc.RestApiPost), config,
                                         os.environ)
    register_routes(archive_rest.routes(archive))
    register_routes([rest.status_route({"DicomWebOAuth": feature, "MedimagingRouter": router,
                                        "MedimagingPriors": priors, "MedimagingArchive": archive,
                                        "MedimagingStorage": storage})])
    events.subscribe(orthanc.ChangeType.ORTHANC_STARTED, archive.start)
    events.subscribe(orthanc.ChangeType.ORTHANC_STOPPED, archive.stop)
    return {"oauth": feature, "router": router, "priors": priors, "archive": archive, "events": events,
            "health": health, "storage": storage}


def register_storage(config):
    """MedimagingStorage: orthanc-python accepts a storage area only while the plugin loads (both lines offer
    RegisterStorageArea(create, read, remove); 4.0 has nothing newer)."""
    storage = StorageFeature.from_config(config, os.environ, api=OrthancApi())
    if storage.area is not None:
        orthanc.RegisterStorageArea(storage.area.create, storage.area.read, storage.area.remove)
    register_routes(storage_rest.routes(storage))
    return storage


def register_health(events):
    """The probe routes. With AuthenticationEnabled, Orthanc asks for credentials before any plugin filter or route
    sees the request (1.10 and 1.12), so a probe then uses the image's medimaging-probe command (exec)."""
    health = health_routes.Health(lambda: orthanc.RestApiGet("/changes?limit=0"))  # a query through the index
    register_routes(health.routes())
    events.subscribe(orthanc.ChangeType.ORTHANC_STARTED, health.started)
    events.subscribe(orthanc.ChangeType.ORTHANC_STOPPED, health.stopped)
    return health
