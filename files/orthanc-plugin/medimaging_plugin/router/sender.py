"""Sending one study to one destination through Orthanc's own clients.

DICOMweb: POST {Root}servers/NAME/stow {"Resources": [instance ids], "Synchronous": true}, in
batches. Orthanc's internal API reports a failed STOW without the remote HTTP status, so a failure
is resolved by asking the destination (QIDO-RS for the study's instances):
  - QIDO fails too: the destination is down (DestinationDown, retried, never dead-lettered);
  - instances it already has count as sent ("already exists" is success, whatever the answer was);
  - the rest are sent one by one; one that still fails is sent once as an asynchronous job, whose
    FunctionErrorCode tells 400 Bad Request (8: permanent rejection) from the others.
Peers: POST /peers/NAME/store {"Resources": [...], "Synchronous": true}; an Orthanc peer already
holding an instance answers success, so every failure is DestinationDown.
"""

import json
import time

from ..log import redact
from ..priors.selection import values
from .errors import DestinationDown, Rejected, StudyGone

# Orthanc error codes seen in a failed DicomWebStowClient job's Content.FunctionErrorCode
# (Orthanc's HttpClient maps 400 -> BadRequest, 401/403 -> Unauthorized, 404 -> UnknownResource,
# everything else, connection errors included, -> NetworkProtocol).
ERROR_BAD_REQUEST = 8
ERROR_NETWORK = 9
ERROR_UNKNOWN_RESOURCE = 17
ERROR_UNAUTHORIZED = 29
SOP_INSTANCE_UID = "00080018"


class StudyInstances:
    """The local instances of a study: [(orthanc id, SOPInstanceUID, file size)]."""

    def __init__(self, api, study_id):
        try:
            answer = api.get_json("/studies/%s/instances" % study_id)
        except Exception as exc:
            if "Unknown resource" in str(exc) or "17" in str(getattr(exc, "args", ("",))[0]):
                raise StudyGone(study_id) from None
            raise
        self.items = [(i["ID"], i["MainDicomTags"].get("SOPInstanceUID"), int(i.get("FileSize", 0)))
                      for i in answer]


class DicomWebSender:
    # A failure Orthanc does not detail (409/422 vs 503...) counts as a refusal of those instances
    # only if the destination accepted other instances lately; otherwise it refuses every write
    # (overloaded, read-only, 5xx): treated as down, so an outage never dead-letters anything.
    ACCEPTED_RECENTLY_SECONDS = 120.0

    def __init__(self, api, root, server, batch_size, job_timeout=120.0, sleep=time.sleep, clock=time.monotonic):
        self.api = api
        self.clock = clock
        self.last_accepted = None
        self.base = "%sservers/%s" % (root, server)
        self.server = server
        self.batch_size = batch_size
        self.job_timeout = job_timeout
        self.sleep = sleep

    def _stow(self, ids):
        self.api.post(self.base + "/stow", json.dumps({"Resources": list(ids), "Synchronous": True}))
        self.last_accepted = self.clock()

    def _accepts_writes(self):
        return self.last_accepted is not None and self.clock() - self.last_accepted < self.ACCEPTED_RECENTLY_SECONDS

    def present(self, study_uid):
        """SOPInstanceUIDs the destination holds for the study; DestinationDown if it cannot say."""
        body = json.dumps({"Uri": "/studies/%s/instances" % study_uid,
                           "Arguments": {"includefield": SOP_INSTANCE_UID}})
        try:
            answer = json.loads(self.api.post(self.base + "/qido", body) or b"[]")
        except Exception as exc:
            # Orthanc turns a 404 (study unknown there) into an error too: tell it apart by a
            # study-less QIDO, which a healthy server answers.
            if self._reachable():
                return set()
            raise DestinationDown("%s does not answer (STOW and QIDO failed): %s"
                                  % (self.server, redact(exc))) from None
        return {uid for entry in (answer if isinstance(answer, list) else []) for uid in values(entry, SOP_INSTANCE_UID)}

    def _reachable(self):
        try:
            self.api.post(self.base + "/qido", json.dumps({"Uri": "/studies", "Arguments": {"limit": "1"}}))
            return True
        except Exception:
            return False

    def _job_error_code(self, instance_id):
        """Send one instance as an asynchronous job to learn Orthanc's error code; 0 on success."""
        job = json.loads(self.api.post(self.base + "/stow", json.dumps(
            {"Resources": [instance_id], "Synchronous": False})))
        deadline = time.monotonic() + self.job_timeout
        while time.monotonic() < deadline:
            info = self.api.get_json("/jobs/%s" % job["ID"])
            if info.get("State") == "Success":
                return 0
            if info.get("State") == "Failure":
                content = info.get("Content") or {}
                return int(content.get("FunctionErrorCode") or info.get("ErrorCode") or ERROR_NETWORK)
            self.sleep(0.05)
        raise DestinationDown("STOW job for one instance did not finish in %.0fs" % self.job_timeout)

    def send(self, item, instances, on_progress, already_tried):
        """Send every instance of the study. Returns (instances sent, bytes sent). `on_progress` is
        called between batches (it renews the lease). `already_tried`: this is a retry, so first
        ask the destination which instances it already holds."""
        todo = instances.items
        if already_tried:
            present = self.present(item.study_uid)
            todo = [entry for entry in todo if entry[1] not in present]
        sent = sent_bytes = 0
        rejected = []
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            try:
                self._stow([entry[0] for entry in batch])
                sent += len(batch)
                sent_bytes += sum(entry[2] for entry in batch)
            except Exception as exc:
                done, done_bytes, refused = self._resolve(item, batch, exc)
                sent += done
                sent_bytes += done_bytes
                rejected.extend(refused)
            on_progress()
        if rejected:
            permanent = any(code == ERROR_BAD_REQUEST for _uid, code in rejected)
            reason = "%s refused %d instance(s) (%s): %s" % (
                self.server, len(rejected), "HTTP 400 Bad Request" if permanent else
                "error the DICOMweb client does not detail: 409/413/422/5xx",
                ", ".join(uid for uid, _code in rejected[:5]) + (" ..." if len(rejected) > 5 else ""))
            raise Rejected(reason, permanent, sent, sent_bytes)
        return sent, sent_bytes

    def _resolve(self, item, batch, error):
        """A batch failed: which of its instances are in fact there, which are refused, or is the
        destination down? Returns (sent, bytes, [(SOPInstanceUID, error code)])."""
        present = self.present(item.study_uid)  # raises DestinationDown
        missing = [entry for entry in batch if entry[1] not in present]
        sent = len(batch) - len(missing)
        sent_bytes = sum(entry[2] for entry in batch if entry[1] in present)
        refused = []
        for entry in missing:
            if len(batch) > 1:
                try:
                    self._stow([entry[0]])
                    sent += 1
                    sent_bytes += entry[2]
                    continue
                except Exception:
                    pass
            code = self._job_error_code(entry[0])
            if code == 0:
                self.last_accepted = self.clock()
                sent += 1
                sent_bytes += entry[2]
            elif code == ERROR_UNAUTHORIZED or code == ERROR_UNKNOWN_RESOURCE:
                raise DestinationDown("%s answered %s to STOW (token or URL): %s"
                                      % (self.server, "401/403" if code == ERROR_UNAUTHORIZED else "404",
                                         redact(error)))
            elif code != ERROR_BAD_REQUEST and not (self._reachable() and self._accepts_writes()):
                raise DestinationDown("%s accepts no STOW (down, overloaded or 5xx): %s" % (self.server, redact(error)))
            else:
                refused.append((entry[1], code))
        return sent, sent_bytes, refused


class PeerSender:
    def __init__(self, api, peer, batch_size):
        self.api = api
        self.peer = peer
        self.batch_size = batch_size

    def send(self, item, instances, on_progress, already_tried):
        sent = sent_bytes = 0
        for start in range(0, len(instances.items), self.batch_size):
            batch = instances.items[start:start + self.batch_size]
            try:
                self.api.post("/peers/%s/store" % self.peer,
                              json.dumps({"Resources": [entry[0] for entry in batch], "Synchronous": True}))
            except Exception as exc:
                raise DestinationDown("peer %s: store failed: %s" % (self.peer, redact(exc))) from None
            sent += len(batch)
            sent_bytes += sum(entry[2] for entry in batch)
            on_progress()
        return sent, sent_bytes
