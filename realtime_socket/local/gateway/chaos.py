"""A testing aid: answer every Nth ``@connections`` post with a transient 429.

API Gateway answers ``LimitExceededException`` when the account is throttled, and a retry
goes through. ``--chaos-post-429-every N`` makes that happen on purpose, so a program can
prove its retries; the same post (connection and body) is never refused twice.
"""

from __future__ import annotations

__all__ = ["PostChaos"]


class PostChaos:
    """Counts posts; :meth:`strikes` says whether this one gets the injected 429."""

    def __init__(self, every: int = 0) -> None:
        self.every = every
        self.attempted = 0
        self._struck: set[tuple[str, int]] = set()

    def strikes(self, connection_id: str, body: bytes) -> bool:
        """Count one post; True when it is an Nth one not already refused once."""
        self.attempted += 1
        if not self.every or self.attempted % self.every:
            return False
        post = (connection_id, hash(body))
        if post in self._struck:
            return False
        self._struck.add(post)
        return True
