"""Pure timing rules: when to refresh a token, how long to back off after a failure."""


def refresh_delay(token, now, margin, jitter_max, rng):
    """Seconds from `now` until the next refresh of a freshly obtained `token`.

    Refresh `margin` seconds before expiry, plus up to `jitter_max` seconds earlier so that many
    Orthanc replicas do not hit the token endpoint in the same second. For short-lived tokens the
    lead is capped at half the lifetime, so a token is always used for at least a quarter of it.
    """
    lifetime = token.lifetime
    lead = min(margin, lifetime / 2.0)
    jitter = rng.uniform(0.0, min(jitter_max, lead / 2.0)) if jitter_max > 0 and lead > 0 else 0.0
    refresh_at = token.expires_at - lead - jitter
    return max(0.0, refresh_at - now)


def backoff_delay(consecutive_failures, base, cap, rng):
    """Exponential backoff with jitter: base * 2^(n-1), capped, drawn in [50%, 100%] of that."""
    exponent = min(max(consecutive_failures, 1) - 1, 30)
    ceiling = min(cap, base * (2 ** exponent))
    return rng.uniform(ceiling / 2.0, ceiling)


def retry_delay(error, consecutive_failures, token, now, settings, rng):
    """Delay before retrying after `error`. A permanent error waits PermanentErrorRetrySeconds
    (no retry storm against an endpoint that said 'wrong secret'); a transient one backs off
    exponentially. While the current token is still valid, a retry is never scheduled after
    the token's expiry moment if an earlier attempt is possible."""
    if error.permanent:
        return settings.permanent_retry
    delay = backoff_delay(consecutive_failures, settings.retry_min, settings.retry_max, rng)
    if token is not None and token.is_valid(now):
        delay = min(delay, max(settings.retry_min, token.expires_at - now - 0.5))
    return delay
