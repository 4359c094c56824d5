"""Sending one study to one destination through Orthanc's own clients.

DICOMweb: POST {Root}servers/NAME/stow {"Resources": [instance ids], "Synchronous": true}, in
batches. Orthanc's internal API reports a failed STOW without the remote HTTP status, so a failure
is resolved by asking the destination (QIDO-RS for the study's instances):
  - QIDO fails too: the destination is down (DestinationDown, retried, never dead-lettered);
  - instances it already has count as sent ("already exists" is success, whatever the answer was);
  - the rest are sent one by one; one that still fails is sent once as an asynchronous job, whose
    FunctionErrorCode tells 400 Bad Request (8: permanent rejection) from the others.
When the router can reach the server itself (DirectStow: its URL and credentials are known), a failed
batch's missing instances are sent again directly and the answer is read per instance (FailureReason):
45070 is success, 272/45071/A7xx are retried, any other code dead-letters that instance only (the rest
of the study still goes). Instances whose transfer syntax the destination refuses (Transcode list) are
re-encoded to Explicit VR Little Endian by Orthanc without touching the stored copy and sent directly;
without DirectStow each is dead-lettered with a reason naming the configuration to fix (nothing re-encoded).
Peers: POST /peers/NAME/store {"Resources": [...], "Synchronous": true}; an Orthanc peer already
holding an instance answers success, so every failure is DestinationDown.
"""

import json
import time

from ..log import redact
from ..priors.selection import values
from . import stow_answer, transcode
from .direct_stow import RequestRefused
from .errors import DestinationDown, Rejected, StudyGone, is_unknown_resource

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
            if is_unknown_resource(exc):
                raise StudyGone(study_id) from None
            raise
        self.items = [(i["ID"], i["MainDicomTags"].get("SOPInstanceUID"), int(i.get("FileSize", 0)))
                      for i in answer]


class Sent(tuple):
    """(instances sent, bytes sent), plus .refused: [(SOPInstanceUID, failure code or None, reason)] the
    destination will never accept, and .transcoded: how many were re-encoded before sending."""

    def __new__(cls, instances, sent_bytes, refused=(), transcoded=0):
        self = tuple.__new__(cls, (instances, sent_bytes))
        self.refused = list(refused)
        self.transcoded = transcoded
        return self


class _Tally:
    def __init__(self):
        self.sent = self.bytes = self.transcoded = 0
        self.refused = []  # permanent, per instance: (uid, code, reason)
        self.rejected = []  # retry the study: (uid, Orthanc error code or FailureReason)

    def ok(self, size):
        self.sent += 1
        self.bytes += size


class DicomWebSender:
    # A failure Orthanc does not detail (409/422 vs 503...) counts as a refusal of those instances
    # only if the destination accepted other instances lately; otherwise it refuses every write
    # (overloaded, read-only, 5xx): treated as down, so an outage never dead-letters anything.
    ACCEPTED_RECENTLY_SECONDS = 120.0

    def __init__(self, api, root, server, batch_size, job_timeout=120.0, sleep=time.sleep, clock=time.monotonic,
                 direct=None, transcode_syntaxes=()):
        self.api = api
        self.direct = direct  # DirectStow or None
        self.transcode_syntaxes = frozenset(transcode_syntaxes)
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

    QIDO_PAGE = 200  # the Azure DICOM service answers at most 200 results per query (default 100)

    def present(self, study_uid):
        """SOPInstanceUIDs the destination holds for the study; DestinationDown if it cannot say."""
        held, offset = set(), 0
        while True:
            body = json.dumps({"Uri": "/studies/%s/instances" % study_uid,
                               "Arguments": {"includefield": SOP_INSTANCE_UID, "limit": str(self.QIDO_PAGE),
                                             "offset": str(offset)}})
            try:
                answer = json.loads(self.api.post(self.base + "/qido", body) or b"[]")
            except Exception as exc:
                # Orthanc turns a 404 (study unknown there) into an error too: tell it apart by a
                # study-less QIDO, which a healthy server answers.
                if offset == 0 and self._reachable():
                    return set()
                if offset:
                    return held
                raise DestinationDown("%s does not answer (STOW and QIDO failed): %s"
                                      % (self.server, redact(exc))) from None
            page = answer if isinstance(answer, list) else []
            held.update(uid for entry in page for uid in values(entry, SOP_INSTANCE_UID))
            if len(page) < self.QIDO_PAGE:
                return held
            offset += self.QIDO_PAGE

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
        """Send every instance of the study. Returns Sent(instances sent, bytes sent). `on_progress` is
        called between batches (it renews the lease). `already_tried`: this is a retry, so first
        ask the destination which instances it already holds."""
        todo = instances.items
        if already_tried:
            present = self.present(item.study_uid)
            todo = [entry for entry in todo if entry[1] not in present]
        plain, recode = self._split(todo)
        tally = _Tally()
        for start in range(0, len(plain), self.batch_size):
            batch = plain[start:start + self.batch_size]
            try:
                self._stow([entry[0] for entry in batch])
                for entry in batch:
                    tally.ok(entry[2])
            except Exception as exc:
                self._resolve(item, batch, exc, tally)
            on_progress()
        for start in range(0, len(recode), self.batch_size):
            self._send_transcoded(recode[start:start + self.batch_size], tally)
            on_progress()
        if tally.rejected:
            permanent = any(code == ERROR_BAD_REQUEST for _uid, code in tally.rejected)
            detail = ("HTTP 400 Bad Request" if permanent else
                      "error the DICOMweb client does not detail: 409/413/422/5xx" if not self._direct_ok() else
                      "failures the destination may recover from: 272/45071/out of resources")
            reason = "%s refused %d instance(s) (%s): %s" % (
                self.server, len(tally.rejected), detail,
                ", ".join(uid for uid, _code in tally.rejected[:5]) + (" ..." if len(tally.rejected) > 5 else ""))
            raise Rejected(reason, permanent, tally.sent, tally.bytes, refused=tally.refused)
        return Sent(tally.sent, tally.bytes, tally.refused, tally.transcoded)

    def _direct_ok(self):
        return self.direct is not None and self.direct.available()

    def _split(self, todo):
        """(instances sent as stored, instances to re-encode first)."""
        if not self.transcode_syntaxes:
            return todo, []
        plain, recode = [], []
        for entry in todo:
            syntax = transcode.transfer_syntax(self.api, entry[0])
            (recode if syntax in self.transcode_syntaxes else plain).append(entry)
        return plain, recode

    def _send_transcoded(self, batch, tally):
        if not self._direct_ok():  # a configuration matter: say so, and spare Orthanc the re-encoding
            self._refuse_unreachable([entry[1] for entry in batch], tally)
            return
        files = []
        for entry in batch:
            try:
                files.append((entry, transcode.transcoded(self.api, entry[0])))
            except Exception as exc:  # Orthanc cannot re-encode it: it would be refused as it is
                tally.refused.append((entry[1], None, "cannot be transcoded to Explicit VR Little Endian here: %s"
                                      % redact(exc)))
        if files:
            tally.transcoded += len(files)
            self._direct(files, tally)

    def _direct(self, files, tally):
        """Send [(entry, bytes)] with DirectStow and sort the answer per instance."""
        if not self._direct_ok():
            self._refuse_unreachable([entry[1] for entry, _data in files], tally)
            return
        try:
            codes = self.direct.send([(entry[1], data) for entry, data in files])
        except RequestRefused as exc:
            if len(files) > 1:  # one bad part refuses the whole request: ask for each alone
                for one in files:
                    self._direct([one], tally)
                return
            tally.refused.append((files[0][0][1], None, str(exc)))
            return
        for entry, data in files:
            code = codes[entry[1]]
            if code in (0, stow_answer.ALREADY_STORED):
                self.last_accepted = self.clock()
                tally.ok(len(data))
            elif stow_answer.is_transient(code):
                tally.rejected.append((entry[1], code))
            else:
                tally.refused.append((entry[1], code, "%s refused it with FailureReason %d: %s"
                                      % (self.server, code, stow_answer.reason(code))))

    def _refuse_unreachable(self, uids, tally):
        for uid in uids:
            tally.refused.append((uid, None, "%s needs it re-encoded but the router cannot send STOW-RS itself: "
                                  "configure the server in DicomWebOAuth or with its Url in DicomWeb.Servers "
                                  "(Transcode: [] in Destinations.%s sends instances as stored)"
                                  % (self.server, self.server)))

    def _resolve(self, item, batch, error, tally):
        """A batch failed: which of its instances are in fact there, which are refused (and why, when the
        router can ask the destination itself), or is the destination down?"""
        present = self.present(item.study_uid)  # raises DestinationDown
        missing = []
        for entry in batch:
            if entry[1] in present:
                tally.ok(entry[2])
            else:
                missing.append(entry)
        if missing and self._direct_ok():
            self._direct([(entry, self.api.get_bytes("/instances/%s/file" % entry[0])) for entry in missing], tally)
            return
        for entry in missing:
            if len(batch) > 1:
                try:
                    self._stow([entry[0]])
                    tally.ok(entry[2])
                    continue
                except Exception:
                    pass
            code = self._job_error_code(entry[0])
            if code == 0:
                self.last_accepted = self.clock()
                tally.ok(entry[2])
            elif code == ERROR_UNAUTHORIZED or code == ERROR_UNKNOWN_RESOURCE:
                raise DestinationDown("%s answered %s to STOW (token or URL): %s"
                                      % (self.server, "401/403" if code == ERROR_UNAUTHORIZED else "404",
                                         redact(error)))
            elif code != ERROR_BAD_REQUEST and not (self._reachable() and self._accepts_writes()):
                raise DestinationDown("%s accepts no STOW (down, overloaded or 5xx): %s" % (self.server, redact(error)))
            else:
                tally.rejected.append((entry[1], code))


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
        return Sent(sent, sent_bytes)
