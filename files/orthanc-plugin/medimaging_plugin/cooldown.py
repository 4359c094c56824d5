"""At most one call per key at a time, and none again until a quiet period has passed.

Used by the OAuth test endpoint: each test acquires a fresh token, so 30 quick calls made 32 token
requests to the identity provider (issue 11). Pure, with an injected clock.
"""

import math
import threading
import time


class Cooldown:
    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._busy = set()
        self._finished = {}

    def acquire(self, key):
        """0 when the caller may go (then call release(key) when done), else whole seconds to wait."""
        with self._lock:
            if key in self._busy:
                return max(1, math.ceil(self.seconds))
            since = self.clock() - self._finished.get(key, -math.inf)
            if since < self.seconds:
                return max(1, math.ceil(self.seconds - since))
            self._busy.add(key)
            return 0

    def release(self, key):
        with self._lock:
            self._busy.discard(key)
            self._finished[key] = self.clock()
