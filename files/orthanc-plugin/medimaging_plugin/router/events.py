"""What the router's intake thread is handed: one typed event per change it must record.

Orthanc's change thread (and the priors feature, and the recovery sweep) only put events on the intake queue;
the intake thread alone touches the database for them, so Orthanc never waits on PostgreSQL.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NewStudy:
    """NEW_STUDY: note the arrival at once (a crash before the study is stable then loses nothing)."""

    study_id: str


@dataclass(frozen=True)
class StableStudy:
    """STABLE_STUDY (or an orphaned arrival): filter per destination and enqueue."""

    study_id: str


@dataclass(frozen=True)
class Retrieved:
    """The priors feature brought the study back from a DICOMweb server: it is already there."""

    server: str
    study_uid: str


@dataclass(frozen=True)
class Sweep:
    """Recovery: deferred events, the /changes log after the cursor, orphaned arrivals. force=False: throttled."""

    force: bool = False


@dataclass(frozen=True)
class Stop:
    """Ends the intake thread."""


# Events kept for the next sweep when the database is down: losing one would lose a study. (A lost Retrieved
# costs one send back to the server it came from, never data.)
RETRIED = (NewStudy, StableStudy)
