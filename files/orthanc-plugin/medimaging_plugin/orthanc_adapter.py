"""The only module that imports `orthanc` (the orthanc-python embedded module).

It turns Orthanc's API into the small interfaces the features use (OrthancApi, a log sink, a
change-event dispatcher, REST callbacks) so that every other module stays testable without Orthanc.
"""

import json
import os

import orthanc

from . import log, rest
from .log import redact
from .oauth_feature import OAuthFeature

LOG = log.get_logger("adapter")


class OrthancApi:
    """Orthanc's internal REST API (no HTTP hop, no authentication needed from inside).

    The *AfterPlugins variants are required: /dicom-web/servers/... is a route of the DICOMweb
    plugin, which the plain RestApiPut/Post (core routes only) answer with "Unknown resource".
    """

    def get_json(self, uri):
        return json.loads(orthanc.RestApiGetAfterPlugins(uri))

    def put(self, uri, body):
        return orthanc.RestApiPutAfterPlugins(uri, body)

    def post(self, uri, body):
        return orthanc.RestApiPostAfterPlugins(uri, body)


class ChangeEvents:
    """One OnChange callback for the whole plugin; features subscribe to change types."""

    def __init__(self):
        self._handlers = {}
        orthanc.RegisterOnChangeCallback(self._dispatch)

    def subscribe(self, change_type, handler):
        self._handlers.setdefault(change_type, []).append(handler)

    def _dispatch(self, change_type, level, resource_id):
        for handler in self._handlers.get(change_type, ()):
            try:
                handler()
            except Exception as exc:  # one feature's failure must not break Orthanc or the others
                LOG.error("change handler %s failed: %s", getattr(handler, "__qualname__", handler),
                          redact(exc))


def _register_rest(feature):
    for route, pattern in rest.ROUTES.items():
        handler = rest.HANDLERS[route]

        def callback(output, uri, handler=handler, **request):
            try:
                status, content_type, payload = handler(
                    feature, request.get("method"), request.get("groups") or [], request.get("body"))
            except Exception as exc:
                LOG.error("REST %s failed: %s", uri, redact(exc))
                status, content_type = 500, rest.JSON
                payload = json.dumps({"error": "internal error, see Orthanc's log"}).encode()
            if status == 200:
                output.AnswerBuffer(payload, content_type)
            elif status == 405:
                output.SendMethodNotAllowed(payload.decode().replace("use ", ""))
            else:
                output.SendHttpStatus(status, payload)

        orthanc.RegisterRestCallback(pattern, callback)


def bootstrap():
    """Called once by entrypoint.py while Orthanc loads the script."""
    log.attach_orthanc_sink(orthanc.LogInfo, orthanc.LogWarning, orthanc.LogError)
    config = json.loads(orthanc.GetConfiguration())
    feature = OAuthFeature.from_config(OrthancApi(), config, os.environ)
    _register_rest(feature)
    events = ChangeEvents()
    events.subscribe(orthanc.ChangeType.ORTHANC_STARTED, feature.start)
    events.subscribe(orthanc.ChangeType.ORTHANC_STOPPED, feature.stop)
    return {"oauth": feature, "events": events}
