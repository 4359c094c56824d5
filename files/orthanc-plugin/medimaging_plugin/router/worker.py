"""The sending loop: claim an item, send it, record the outcome. One or more threads per Orthanc.

Backoff happens at two levels:
  - a destination that is down (DestinationDown) is held by this worker for an exponentially
    growing delay (RetryMinSeconds doubling up to RetryMaxSeconds); its items are not claimed
    meanwhile, and when it answers again its whole backlog becomes due at once (fast drain);
  - an item the destination refused waits its own exponential delay and is dead-lettered after
    MaxRejections refusals (at once for a permanent refusal, HTTP 400).
Instances the destination refuses for good with a FailureReason (a UID, a missing PatientID...) are
dead-lettered one by one (queue.dead_letter_instances) and the rest of their study completes.
"""

import random
import socket
import threading
import time

from ..log import get_logger, redact
from ..tokens.schedule import backoff_delay
from .errors import DestinationDown, LeaseLost, Rejected, StudyGone
from .sender import StudyInstances

LOG = get_logger("router")


class DestinationHolds:
    """Per-destination backoff after DestinationDown, shared by this process's worker threads."""

    def __init__(self, retry_min, retry_max, clock=time.monotonic, rng=None):
        self.retry_min, self.retry_max = retry_min, retry_max
        self.clock = clock
        self.rng = rng or random.Random()
        self._lock = threading.Lock()
        self._failures = {}
        self._until = {}
        self.last_error = {}

    def held(self):
        now = self.clock()
        with self._lock:
            return [name for name, until in self._until.items() if until > now]

    def down(self, destination, error):
        with self._lock:
            failures = self._failures.get(destination, 0) + 1
            self._failures[destination] = failures
            delay = backoff_delay(failures, self.retry_min, self.retry_max, self.rng)
            self._until[destination] = self.clock() + delay
            self.last_error[destination] = error
            return delay

    def up(self, destination):
        """Returns True when the destination was down before (its backlog should be released)."""
        with self._lock:
            was_down = self._failures.pop(destination, 0) > 0
            self._until.pop(destination, None)
            return was_down

    def failures(self, destination):
        with self._lock:
            return self._failures.get(destination, 0)


class Worker(threading.Thread):
    def __init__(self, index, queue, senders, settings, holds, metrics, api, recover=None):
        super().__init__(name="medimaging-router-%d" % index, daemon=True)
        self.owner = "%s:%d:%d" % (socket.gethostname(), id(self) % 100000, index)
        self.queue = queue
        self.senders = senders  # destination name -> sender
        self.settings = settings
        self.holds = holds
        self.metrics = metrics
        self.api = api
        self.recover = recover  # callable run between idle polls (orphaned arrivals)
        self.rng = random.Random()
        self.stopping = threading.Event()
        self.wakeup = threading.Event()

    def stop(self):
        self.stopping.set()
        self.wakeup.set()

    def run(self):
        db_failures = 0
        while not self.stopping.is_set():
            try:
                worked = self.step()
                db_failures = 0
            except Exception as exc:  # the database is unreachable, or a bug: never kill the thread
                db_failures += 1
                LOG.warning("router worker: %s (retrying)", redact(exc))
                worked = False
                self.wakeup.wait(backoff_delay(db_failures, self.settings.retry_min, self.settings.retry_max,
                                               self.rng))
                self.wakeup.clear()
                continue
            if not worked:
                if self.recover is not None:
                    try:
                        self.recover()
                    except Exception as exc:
                        LOG.warning("router: orphaned-arrival sweep failed: %s", redact(exc))
                self.wakeup.wait(self.settings.poll)
                self.wakeup.clear()

    def step(self):
        """Claim and process one item. Returns False when nothing was due."""
        item = self.queue.claim(self.owner, self.settings.lease, self.holds.held())
        if item is None:
            return False
        self.process(item)
        return True

    def process(self, item):
        sender = self.senders.get(item.destination)
        if sender is None:  # destination removed from the configuration: keep the row, say why
            self.queue.fail(item, self.settings.retry_max, "destination %r is not configured" % item.destination,
                            count_attempt=False)
            return
        started = time.monotonic()

        def renew():
            if self.stopping.is_set() or not self.queue.extend(item, self.settings.lease):
                raise LeaseLost(item.id)

        try:
            instances = StudyInstances(self.api, item.study_id)
            # A retry, or a takeover after a crash mid-send: ask the destination what it holds, send only the rest.
            result = sender.send(item, instances, renew, already_tried=item.attempts > 0 or item.taken_over)
            sent, sent_bytes = result
        except DestinationDown as exc:
            delay = self.holds.down(item.destination, str(exc))
            LOG.warning("router: %s unreachable, holding it %.1fs: %s", item.destination, delay, redact(exc))
            self.metrics.failed(item.destination, "destination_down")
            self.queue.fail(item, delay, redact(exc), count_attempt=True)
            return
        except Rejected as exc:
            self.metrics.sent(item.destination, exc.instances_sent, exc.bytes_sent)
            self._refused(item, exc.refused)
            self._rejected(item, exc)
            return
        except LeaseLost:
            LOG.warning("router: lease lost on study %s -> %s; another worker continues", item.study_uid,
                        item.destination)
            return
        except StudyGone:
            LOG.info("router: study %s was deleted locally before it was sent to %s", item.study_uid,
                     item.destination)
            self.queue.complete(item, 0, 0)
            return
        except Exception as exc:  # unexpected: retry the item with its own backoff
            delay = backoff_delay(item.attempts + 1, self.settings.retry_min, self.settings.retry_max, self.rng)
            LOG.error("router: sending study %s to %s failed: %s", item.study_uid, item.destination, redact(exc))
            self.metrics.failed(item.destination, "error")
            self.queue.fail(item, delay, redact(exc))
            return
        if self.holds.up(item.destination):
            released = self.queue.release_destination(item.destination)
            LOG.info("router: %s answers again; %d queued studies released", item.destination, released)
        self._refused(item, getattr(result, "refused", ()))
        if getattr(result, "transcoded", 0):
            self.metrics.transcoded(item.destination, result.transcoded)
        self.queue.complete(item, sent, sent_bytes)
        self.metrics.sent(item.destination, sent, sent_bytes, studies=1, seconds=time.monotonic() - started)

    def _refused(self, item, refused):
        """Instances the destination will never accept: dead-lettered one by one, the study goes on."""
        if not refused:
            return
        self.queue.dead_letter_instances(item, refused)
        for uid, code, reason in refused:
            LOG.error("router: instance %s of study %s -> %s dead-lettered: %s", uid, item.study_uid,
                      item.destination, reason)
            self.metrics.instance_refused(item.destination, code)

    def _rejected(self, item, exc):
        rejections = item.rejections + 1
        if exc.permanent or rejections >= self.settings.max_rejections:
            reason = exc.reason if exc.permanent else "%s (refused %d times)" % (exc.reason, rejections)
            LOG.error("router: study %s -> %s dead-lettered: %s", item.study_uid, item.destination, reason)
            self.queue.dead_letter(item, reason)
            self.metrics.dead_lettered(item.destination)
            return
        delay = backoff_delay(rejections, self.settings.retry_min, self.settings.retry_max, self.rng)
        LOG.warning("router: %s refused part of study %s (%d/%d), retry in %.1fs: %s", item.destination,
                    item.study_uid, rejections, self.settings.max_rejections, delay, exc.reason)
        self.metrics.failed(item.destination, "rejected")
        self.queue.fail(item, delay, exc.reason, rejection=True)
