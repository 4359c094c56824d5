"""The change feed of a lab DICOM service, as the Azure DICOM service's API v2 shows it.

  GET .../v2/changefeed?startTime=&endTime=&offset=&limit=&includeMetadata=   -> JSON array, oldest first
  GET .../v2/changefeed/latest?includeMetadata=                               -> JSON object (the last entry)

Entries: {Sequence, StudyInstanceUid, SeriesInstanceUid, SopInstanceUid, Action (create|update|delete), Timestamp
(UTC), State (current|replaced|deleted), Metadata (the instance's DICOM JSON, when includeMetadata and the entry is
current)}. startTime is inclusive, endTime exclusive, offset skips entries of that window, limit is 1-200
(default 100); includeMetadata defaults to true. The log itself is immutable: an event is appended once; State
is derived when read (a later create of the same instance replaces the earlier ones, a delete marks them all
deleted).

The log is a JSON-lines file in the service's own folder when a path is given (kept with its Orthanc across
emulator restarts), else in memory.
"""
import datetime
import json
import os
import threading

DEFAULT_LIMIT = 100
MAX_LIMIT = 200
ACTIONS = ("create", "update", "delete")


class FeedQueryError(ValueError):
    """A query parameter the service refuses (HTTP 400)."""


class ChangeFeed:
    def __init__(self, path=None, clock=None):
        self.path = path
        self.clock = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self._lock = threading.Lock()
        self._entries = self._load()

    def _load(self):
        if not self.path or not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def record(self, action, study_uid, series_uid, sop_uid, metadata=None):
        """Append one event; returns its Sequence (1, 2, ...)."""
        if action not in ACTIONS:
            raise ValueError("action must be one of %s" % ", ".join(ACTIONS))
        with self._lock:
            entry = {"Sequence": len(self._entries) + 1, "StudyInstanceUid": study_uid,
                     "SeriesInstanceUid": series_uid, "SopInstanceUid": sop_uid, "Action": action,
                     "Timestamp": _format_time(self.clock()), "Metadata": metadata}
            if self.path:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry) + "\n")
            self._entries.append(entry)
            return entry["Sequence"]

    def _states(self):
        """Sequence -> State, from each instance's later events."""
        last, last_create = {}, {}
        for entry in self._entries:
            key = entry["SopInstanceUid"]
            last[key] = entry
            if entry["Action"] == "create":
                last_create[key] = entry["Sequence"]
        states = {}
        for entry in self._entries:
            key = entry["SopInstanceUid"]
            if last[key]["Action"] == "delete":
                states[entry["Sequence"]] = "deleted"
            else:
                states[entry["Sequence"]] = "current" if entry["Sequence"] >= last_create.get(key, 0) else "replaced"
        return states

    def _shown(self, entry, state, include_metadata):
        shown = {k: v for k, v in entry.items() if k != "Metadata"}
        shown["State"] = state
        if include_metadata:
            shown["Metadata"] = entry.get("Metadata") if state == "current" else None
        return shown

    def read(self, start_time=None, end_time=None, offset=0, limit=DEFAULT_LIMIT, include_metadata=True):
        with self._lock:
            states = self._states()
            window = [e for e in self._entries if (start_time is None or _parse_time(e["Timestamp"]) >= start_time)
                      and (end_time is None or _parse_time(e["Timestamp"]) < end_time)]
            return [self._shown(e, states[e["Sequence"]], include_metadata) for e in window[offset:offset + limit]]

    def latest(self, include_metadata=True):
        with self._lock:
            if not self._entries:
                return None
            entry = self._entries[-1]
            return self._shown(entry, self._states()[entry["Sequence"]], include_metadata)

    def instances_of(self, study_uid, series_uid=None, sop_uid=None):
        """(study, series, sop) of the instances the feed holds as stored (not deleted) under the given level."""
        with self._lock:
            alive = {}
            for entry in self._entries:
                key = (entry["StudyInstanceUid"], entry["SeriesInstanceUid"], entry["SopInstanceUid"])
                if entry["Action"] == "delete":
                    alive.pop(key, None)
                else:
                    alive[key] = True
        return [key for key in alive if key[0] == study_uid and (series_uid is None or key[1] == series_uid)
                and (sop_uid is None or key[2] == sop_uid)]


def _format_time(moment):
    """Azure's shape: 2026-12-03T15:04:05.1234567+00:00 (seven fractional digits, UTC)."""
    moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d0+00:00" % moment.microsecond


def _parse_time(text):
    text = text.strip().replace(" ", "+")  # '+' of a query string arrives as a space
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most six fractional digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[:min(digits, 6)] + rest[digits:]
        text = head + "." + rest
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def bounded(raw, low, high=None):
    """int(raw) when low <= it <= high (no upper bound when high is None); ValueError otherwise."""
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise ValueError(raw)
    return value


def _integer(params, name, default, low, high, message):
    if params.get(name) is None:
        return default
    try:
        return bounded(params[name], low, high)
    except ValueError:
        raise FeedQueryError(message) from None


def _boolean(params, name, default):
    raw = params.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise FeedQueryError("The value '%s' is not valid for %s: use true or false." % (raw, name))
    return raw.lower() == "true"


def parse_query(params):
    """Query parameters (names case-insensitive, one value each) -> read() keyword arguments; FeedQueryError
    for a value the service refuses."""
    params = {k.lower(): v for k, v in params.items()}
    unknown = sorted(set(params) - {"starttime", "endtime", "offset", "limit", "includemetadata"})
    if unknown:
        raise FeedQueryError("The query parameter '%s' is not supported by the change feed." % unknown[0])
    times = {}
    for name in ("starttime", "endtime"):
        if params.get(name):
            try:
                times[name] = _parse_time(params[name])
            except ValueError:
                raise FeedQueryError("The value '%s' of %s is not a valid date and time." % (params[name], name)) \
                    from None
    if "starttime" in times and "endtime" in times and times["starttime"] >= times["endtime"]:
        raise FeedQueryError("The startTime must be earlier than the endTime.")
    return {"start_time": times.get("starttime"), "end_time": times.get("endtime"),
            "offset": _integer(params, "offset", 0, 0, None, "The offset must be a non-negative integer."),
            "limit": _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT,
                              "The limit must be between 1 and %d." % MAX_LIMIT),
            "include_metadata": _boolean(params, "includemetadata", True)}


_OPEN = {}
_OPEN_LOCK = threading.Lock()


def for_path(path):
    """The one ChangeFeed of a service's log file in this process (every request of the service shares it)."""
    with _OPEN_LOCK:
        if path not in _OPEN:
            _OPEN[path] = ChangeFeed(path)
        return _OPEN[path]


def forget(path):
    """The service is gone (its folder removed): a new service of the same name starts an empty feed."""
    with _OPEN_LOCK:
        _OPEN.pop(path, None)
