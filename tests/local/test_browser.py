"""The browser client (``realtime_socket/web/realtime-socket.js``) and the demo page in real
Chromium, against the local runtime: two users chat and see each other, and a page whose
connection the runtime drops (as API Gateway does at the 2-hour cap) reconnects and shows
the messages it missed, in order, each once; and the module's merge rules against a scripted
socket, for the orders only a loaded network produces.

Debian's ``chromium`` only, never a downloaded browser. ``REALTIME_SOCKET_DEMO_PNG=<path>``
also saves the desktop screenshot of the chat (``docs/demo.png``).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support.runtime_harness import RunningRuntime

CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags Chromium's own requests fail on a closed network
#: and its connections get refused.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 760}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason=f"Debian's chromium is not installed ({CHROMIUM}); CI installs it (.ci/run)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser: Any, rt: RunningRuntime, user: str, room: str, viewport: dict[str, int]):
    """A user's own browser context (its own network switch), joined to ``room``."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    query = urlencode({"namespace": "chat", "room": room, "user": user, "join": "1"})
    page.goto(f"http://127.0.0.1:{rt.runtime.port}/?{query}")
    expect(page.locator("#status")).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    # In the room once its members list (asked after `subscribed`) names the user.
    expect(page.locator(f'#members li[data-user="{user}"]')).to_be_visible(timeout=WAIT_MS)
    return page


def _say(page: Any, words: str) -> None:
    page.fill("#text", words)
    page.press("#text", "Enter")
    expect(page.locator("#messages li.message .text").last).to_have_text(words, timeout=WAIT_MS)


def _texts(page: Any) -> list[str]:
    return [str(t) for t in page.locator("#messages li.message .text").all_inner_texts()]


def _seqs(page: Any) -> list[int]:
    return [int(s) for s in page.eval_on_selector_all("#messages li.message", _SEQS)]


_SEQS = "items => items.map(item => item.dataset.seq)"


def _drop(rt: RunningRuntime, **selection: str) -> dict[str, Any]:
    """The runtime's admin call: close connections as API Gateway does at the 2-hour cap."""
    url = f"http://127.0.0.1:{rt.runtime.port}/_dev/drop?{urlencode(selection)}"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as answer:
        return dict(json.loads(answer.read()))


def test_two_users_chat_and_see_each_other(browser, rt):
    """GIVEN bob then alice in a room WHEN they talk THEN both presence lists show both, both
    pages show the conversation in seq order, the page fits a phone's width, and when alice
    leaves bob's list drops her."""
    room = "lobby"
    bob = _page(browser, rt, "bob", room, DESKTOP)
    alice = _page(browser, rt, "alice", room, DESKTOP)
    try:
        # alice's list comes from members on subscribe; bob's from alice's presence join.
        for page in (alice, bob):
            expect(page.locator("#members .name")).to_have_text(["alice", "bob"], timeout=WAIT_MS)
        lines = [
            (alice, "Hi Bob! The new build is on staging."),
            (bob, "Nice, the reconnect fix too?"),
            (alice, "Yes: drop the connection and watch it catch up."),
            (bob, "Trying it now."),
        ]
        for page, words in lines:
            _say(page, words)
        for page in (alice, bob):
            expect(page.locator("#messages li.message .text")).to_have_text(
                [words for _, words in lines], timeout=WAIT_MS
            )
            assert _seqs(page) == [1, 2, 3, 4]
        expect(bob.locator("#messages li.message").first).to_have_attribute("data-from", "alice")
        screenshot = os.environ.get("REALTIME_SOCKET_DEMO_PNG")
        if screenshot:
            alice.locator("#text").fill("")
            alice.screenshot(path=screenshot)
        alice.set_viewport_size(PHONE)
        width = alice.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px"
        expect(alice.locator("#composer button")).to_be_in_viewport()
        alice.click("#leave")  # her only connection closes: bob hears her leave
        expect(bob.locator("#members .name")).to_have_text(["bob"], timeout=WAIT_MS)
    finally:
        for page in (alice, bob):
            page.context.close()


def test_a_dropped_page_reconnects_and_shows_what_it_missed_once_in_order(browser, rt):
    """GIVEN bob offline WHEN the runtime drops his connection (1001, the 2-hour cap's close)
    and alice sends three messages THEN bob's page, back online, reconnects, replays them in
    order, each once, and its status shows the reconnect."""
    room = "browser-resume"
    alice = _page(browser, rt, "alice", room, DESKTOP)
    bob = _page(browser, rt, "bob", room, DESKTOP)
    try:
        _say(alice, "before the drop")
        expect(bob.locator("#messages li.message .text")).to_have_text(
            ["before the drop"], timeout=WAIT_MS
        )
        # Offline first: the open socket survives it, but every reconnect (its token fetch
        # and its handshake) fails until bob is back, so the messages below are surely missed.
        bob.context.set_offline(True)
        dropped = _drop(rt, namespace="chat", user="bob")
        assert len(dropped["dropped"]) == 1 and dropped["code"] == 1001
        status = bob.locator("#status")
        expect(status).to_have_attribute("data-state", "reconnecting", timeout=WAIT_MS)
        expect(bob.locator("#messages li.notice")).to_contain_text(["Connection closed (1001"])
        missed = ["missed 1", "missed 2", "missed 3"]
        for words in missed:
            _say(alice, words)
        assert _texts(bob) == ["before the drop"]

        bob.context.set_offline(False)
        expect(status).to_have_attribute("data-state", "open", timeout=WAIT_MS)
        expect(status).to_have_attribute("data-reconnects", "1")
        expect(status).to_contain_text("Connected · reconnected 1")
        expect(bob.locator("#messages li.message .text")).to_have_text(
            ["before the drop", *missed], timeout=WAIT_MS
        )
        assert _seqs(bob) == [1, 2, 3, 4]
        # And it is live again: a new message arrives once, after the replayed ones.
        _say(alice, "welcome back")
        expect(bob.locator("#messages li.message .text")).to_have_text(
            ["before the drop", *missed, "welcome back"], timeout=WAIT_MS
        )
        assert _seqs(bob) == [1, 2, 3, 4, 5]
        assert bob.locator("#messages li.message .replayed").count() == 3
    finally:
        for page in (alice, bob):
            page.context.close()


#: Drives the module against a scripted socket: the frames the server would send, in an
#: order a real network only produces under load (a live message before `subscribed`, a
#: skipped seq, a replay overlapping live messages, retention loss, `room_busy`).
_SCRIPTED = """async () => {
  const { connect } = await import("/realtime-socket.js");
  const sockets = [];
  class Scripted {
    constructor(url, protocols) {
      Object.assign(this, { url, protocols, sent: [], readyState: 0 });
      sockets.push(this);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.readyState = 3; }
    open() { this.readyState = 1; this.onopen(); }
    recv(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
    drop() { this.readyState = 3; this.onclose({ code: 1001, reason: "Going away" }); }
    asked() { return this.sent.filter((f) => f.action === "history").map((f) => f.since); }
  }
  const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));
  const msg = (seq, more = {}) =>
    ({ type: "message", room: "r", seq, from: "x", data: seq, ...more });
  const token = "h." + btoa(JSON.stringify({ sub: "me" })).replace(/=+$/, "") + ".s";
  let tokens = 0;
  const client = connect("ws://example.invalid/chat", {
    token: async () => { tokens += 1; return token; },
    rooms: ["r"], WebSocket: Scripted, backoffBaseMs: 1, backoffCapMs: 2,
  });
  const out = { delivered: [], gaps: [], asked: [] };
  client.on("message", (m) => out.delivered.push(m.seq));
  client.on("gap", (g) => out.gaps.push([g.afterSeq, g.resumedAt]));
  await tick();
  let ws = sockets[0];
  ws.open();
  ws.recv(msg(6));                                   // live, before `subscribed`
  ws.recv({ type: "subscribed", room: "r", seq: 5 });
  ws.recv(msg(7));
  ws.recv(msg(9));                                   // 8 skipped: ask history since 7
  ws.recv(msg(8, { replay: true }));
  ws.recv(msg(9, { replay: true }));                 // seen already
  ws.recv({ type: "history", room: "r", last_seq: 9, complete: true, more: false });
  out.asked.push(ws.asked());
  const sent = client.send("r", { text: "hi" });
  await tick();
  ws.recv({ type: "error", code: "room_busy", message: "send again" });
  await tick(150);
  out.sends = ws.sent.filter((f) => f.action === "sendmessage").length;
  ws.recv(msg(10, { from: "me", data: { text: "hi" } }));
  out.sentSeq = await sent;
  ws.drop();                                         // the 2-hour cap's close
  await tick(30);
  ws = sockets[1];
  ws.open();
  ws.recv({ type: "subscribed", room: "r", seq: 20 });
  ws.recv(msg(14, { replay: true }));                // 11-13 left retention
  ws.recv(msg(15, { replay: true }));
  ws.recv({ type: "history", room: "r", last_seq: 15, complete: false, more: true });
  ws.recv(msg(21));                                  // live, during the replay
  ws.recv(msg(16, { replay: true }));
  ws.recv({ type: "history", room: "r", last_seq: 16, complete: true, more: false });
  for (let seq = 17; seq <= 20; seq++) ws.recv(msg(seq, { replay: true }));
  ws.recv({ type: "history", room: "r", last_seq: 21, complete: true, more: false });
  out.asked.push(ws.asked());
  Object.assign(out, { tokens, reconnects: client.reconnects, url: sockets[0].url });
  client.close();
  const proto = connect("ws://example.invalid/proto", {
    token: "T", tokenCarrier: "protocol", WebSocket: Scripted,
  });
  await tick();
  out.protocol = [sockets[2].url, sockets[2].protocols];
  proto.close();
  return out;
}"""


def test_the_client_merges_replays_fills_gaps_and_resends_busy_messages(browser, rt):
    """The module in Chromium against a scripted socket: every seq once and in order across
    a skipped seq, an overlapping replay, `more`, retention loss (one `gap`) and a drop;
    `room_busy` sent again; the token function called per connect; both carriers."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{rt.runtime.port}/")
        out = page.evaluate(_SCRIPTED)
    finally:
        context.close()
    assert out["delivered"] == [6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 19, 20, 21]
    assert out["gaps"] == [[10, 14]]
    assert out["asked"] == [[7], [10, 15, 16]]  # gap fill; resume, `more`, the hole after it
    assert (out["sends"], out["sentSeq"]) == (2, 10)
    assert (out["tokens"], out["reconnects"]) == (2, 1)
    assert out["url"].startswith("ws://example.invalid/chat?token=h.")
    assert out["protocol"] == ["ws://example.invalid/proto", ["realtime-socket", "T"]]
