"""The opt-in transient 429 on @connections posts."""

from __future__ import annotations

from realtime_socket.local.gateway.chaos import PostChaos


def test_off_by_default():
    """Without a period no post is ever refused, but posts are counted."""
    chaos = PostChaos()
    assert not any(chaos.strikes("c", str(i).encode()) for i in range(50))
    assert chaos.attempted == 50


def test_every_nth_post_is_refused():
    """Every 3rd post (of different bodies) gets the injected 429."""
    chaos = PostChaos(3)
    struck = [chaos.strikes("c", str(i).encode()) for i in range(9)]
    assert struck == [False, False, True] * 3


def test_the_same_post_is_never_refused_twice():
    """A retry of a refused post goes through even when it lands on an Nth attempt."""
    chaos = PostChaos(1)
    assert chaos.strikes("c", b"x")
    assert not chaos.strikes("c", b"x")
    assert chaos.strikes("d", b"x")  # another connection's post is another post
