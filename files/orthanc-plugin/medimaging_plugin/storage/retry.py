"""Retries of one storage request: exponential backoff with full jitter on connection errors, timeouts, 408, 429
and 5xx (Azure's ServerBusy/OperationTimedOut, S3's SlowDown/InternalError); Retry-After is honoured up to the
backoff cap. Anything else (403, 404, 400...) is answered at once: retrying will not fix it."""

import random
import time

RETRY_STATUS = frozenset((408, 429, 500, 502, 503, 504))


def is_retryable(status):
    return status in RETRY_STATUS


def backoff(attempt, base, cap, rand=random.random):
    """Seconds before retry `attempt` (1-based): uniform in [0, min(cap, base * 2**(attempt-1))] (full jitter)."""
    return rand() * min(cap, base * (2 ** (attempt - 1)))


def retry_after_seconds(headers, cap):
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(cap, max(0.0, float(value))) if value else None
    except (TypeError, ValueError):
        return None


class RetryPolicy:
    def __init__(self, max_retries=4, base=0.2, cap=5.0, sleep=time.sleep, rand=random.random):
        self.max_retries, self.base, self.cap = max_retries, base, cap
        self.sleep, self.rand = sleep, rand

    def wait(self, attempt, headers=None):
        delay = retry_after_seconds(headers, self.cap)
        self.sleep(backoff(attempt, self.base, self.cap, self.rand) if delay is None else delay)
