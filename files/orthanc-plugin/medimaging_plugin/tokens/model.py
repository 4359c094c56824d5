"""A token and the errors of acquiring one. Neither ever shows the token in repr/str."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    obtained_at: float  # epoch seconds, before the request was sent (conservative)
    expires_at: float  # epoch seconds

    @property
    def lifetime(self):
        return max(0.0, self.expires_at - self.obtained_at)

    def is_valid(self, now):
        return now < self.expires_at


class TokenError(Exception):
    """Acquisition failed. `permanent` errors (wrong secret, unknown client or identity, bad
    scope) will not heal by retrying soon; transient ones (network, 5xx, 429) will."""

    def __init__(self, message, permanent=False, status=None, code=None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.code = code
