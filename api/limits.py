"""Per-caller limits: a token-bucket rate limiter (429 with ``Retry-After`` beyond it).

Buckets are kept per caller key (``user:<name>`` for a valid token, ``client:<address>`` for
requests without one) in a bounded table, so a flood of new keys cannot grow memory.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict


class RateLimiter:
    """``per_minute`` requests per key on average, ``burst`` at once.

    Examples
    --------
    >>> rl = RateLimiter(per_minute=60, burst=2)
    >>> rl.take("k"), rl.take("k"), rl.take("k") > 0
    (0.0, 0.0, True)
    """

    def __init__(self, per_minute: int, burst: int, max_keys: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, time)
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` from ``key``'s bucket: 0.0 if allowed, else the seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            wait = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = (cost - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
