/**
 * realtime-socket browser client: one dependency-free ES module.
 *
 *   import { connect } from "/realtime-socket.js";
 *   const client = connect("ws://127.0.0.1:8080/chat", { token: getToken, rooms: ["lobby"] });
 *   client.on("message", (m) => console.log(m.room, m.from, m.data));
 *   await client.send("lobby", { text: "hi" });
 *
 * What it does for the application (README "Client protocol", "History and resume"):
 * - sends the token in the query string (`tokenCarrier: "query"`) or as the second
 *   WebSocket subprotocol (`"protocol"`); a token function is called before every connect;
 * - pings every 5 minutes (API Gateway closes a connection idle for 10) and reconnects on its
 *   own before the 2-hour cap (`maxAgeMs`);
 * - reconnects after any drop with exponential backoff and full jitter (at once when the
 *   browser comes back online), subscribes again and asks `history` since the last seq it
 *   delivered per room, following `more`;
 * - delivers each room's messages once, in seq order: replayed and live frames are merged
 *   by seq, a seq seen already is dropped, a skipped seq is fetched from history, and a
 *   `gap` event says when history has lost messages (`complete: false`);
 * - sends one message at a time and sends again on `room_busy`.
 *
 * Events (`client.on(type, fn)` or `addEventListener(type, e => e.detail)`):
 * `message` (the message frame), `presence` ({room, event: "join"|"leave", user}),
 * `gap` ({room, afterSeq, resumedAt}: the seqs in between are lost), `status` ({state: "connecting"|"open"|"reconnecting"|
 * "closed", reconnects, attempt, delayMs, code, reason}), `subscribed` ({room, seq}, after
 * every (re)subscribe: a good time to ask `members`), `request` ({id, data, reply(data)}),
 * `error` (error frames not handled here).
 */

const DEFAULTS = Object.freeze({
  tokenCarrier: "query",
  queryParameter: "token",
  subprotocol: "realtime-socket",
  // `{"action":"ping"}` this often: API Gateway closes a connection idle for 10 minutes.
  pingIntervalMs: 5 * 60 * 1000,
  // Reconnect when the connection is this old: API Gateway closes it at 2 hours.
  maxAgeMs: (2 * 60 - 5) * 60 * 1000,
  // After a drop, attempt n waits uniform(0, min(cap, base * 2 ** n)).
  backoffBaseMs: 500,
  backoffCapMs: 30 * 1000,
  // How long send (its echo), subscribe and members wait for their answer.
  answerTimeoutMs: 30 * 1000,
  // `room_busy` (nothing stored) is sent again this many times before send() fails.
  busyRetries: 5,
});

/** Error codes that answer a `sendmessage` (the one in flight). */
const SEND_ERRORS = new Set([
  "room_busy",
  "message_too_large",
  "missing_data",
  "missing_room",
  "rate_limited",
]);
/** Error codes that answer a `subscribe`. */
const SUBSCRIBE_ERRORS = new Set(["forbidden", "too_many_rooms", "invalid_room"]);

/** Connect to `url` and keep connected until `close()`; see the module's docstring. */
export function connect(url, options = {}) {
  const client = new RealtimeSocket(url, options);
  client.open();
  return client;
}

/** The `sub` of a JWT, to recognise this client's own messages; null if not a JWT. */
function tokenSubject(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    const sub = JSON.parse(json).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function newRoom(since) {
  return {
    last: since ?? null, // the last seq delivered (null: not known yet)
    fresh: since == null, // never subscribed: start from the seq `subscribed` reports
    pending: new Map(), // seq -> frame, waiting for the seqs before it
    subscribed: false, // on the current socket
    historyInFlight: false,
    askedSince: null,
    replayFirst: null, // the first replayed seq of the history in flight
    waiters: [], // subscribe() promises
  };
}

export class RealtimeSocket extends EventTarget {
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.options = { ...DEFAULTS, ...options };
    this.rooms = new Map();
    for (const room of options.rooms || []) this.rooms.set(room, newRoom());
    this.state = "idle";
    this.reconnects = 0; // successful reconnections
    this.attempt = 0; // failed attempts since the last open
    this.user = null; // the token's sub, when the token is a JWT
    this._ws = null;
    this._closed = false;
    this._openedOnce = false;
    this._refreshing = false;
    this._generation = 0;
    this._timers = {};
    this._outbox = []; // messages waiting to be sent, in order
    this._inflight = null; // the message sent and not yet confirmed
    this._members = new Map(); // room -> [{resolve, reject, timer}]
    this._online = () => this._retryNow();
    globalThis.addEventListener?.("online", this._online);
  }

  // -- the application's side ------------------------------------------------------------

  /** `fn(detail)` for each `type` event; returns a function that stops it. */
  on(type, fn) {
    const listener = (event) => fn(event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  get connected() {
    return this._ws !== null && this._ws.readyState === 1;
  }

  /** Start connecting (`connect()` calls it). */
  open() {
    if (this.state !== "idle") return;
    this.state = "connecting";
    queueMicrotask(() => this._connect()); // listeners added right after connect() hear it
  }

  /** Close for good: no reconnect; pending sends and requests fail. */
  close() {
    this._closed = true;
    globalThis.removeEventListener?.("online", this._online);
    this._clearTimers(true);
    const ws = this._ws;
    this._ws = null;
    if (ws) ws.close(1000, "client closed");
    const gone = new Error("client closed");
    for (const item of [this._inflight, ...this._outbox]) if (item) item.reject(gone);
    this._inflight = null;
    this._outbox = [];
    this._failRequests(gone);
    this._status("closed");
  }

  /** Join `room` (again after every reconnect). `since`: also replay what followed that seq. */
  subscribe(room, { since } = {}) {
    let state = this.rooms.get(room);
    if (!state) {
      state = newRoom(since);
      this.rooms.set(room, state);
      if (this.connected) this._send({ action: "subscribe", room });
    }
    if (state.subscribed) return Promise.resolve(state.last);
    return new Promise((resolve, reject) => state.waiters.push({ resolve, reject }));
  }

  /** Leave `room`: its messages stop and it is not joined again on reconnect. */
  unsubscribe(room) {
    const state = this.rooms.get(room);
    this.rooms.delete(room);
    for (const waiter of state?.waiters || []) waiter.reject(new Error(`unsubscribed ${room}`));
    if (this.connected) this._send({ action: "unsubscribe", room });
  }

  /** Send `data` to `room`; resolves with the message's seq once the room has it. */
  send(room, data) {
    if (!this.rooms.has(room)) return Promise.reject(new Error(`not subscribed to ${room}`));
    return new Promise((resolve, reject) => {
      this._outbox.push({ room, data, resolve, reject, timer: null, recheck: false, busy: 0 });
      this._pump();
    });
  }

  /** The room's members: [{user, connections}], sorted by user. */
  members(room) {
    if (!this.connected) return Promise.reject(new Error("not connected"));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      const timeout = this.options.answerTimeoutMs;
      waiter.timer = setTimeout(() => this._settleMembers(room, waiter, null), timeout);
      const waiting = this._members.get(room) || [];
      waiting.push(waiter);
      this._members.set(room, waiting);
      this._send({ action: "members", room });
    });
  }

  // -- the connection ----------------------------------------------------------------------

  async _connect() {
    const generation = ++this._generation;
    this._status("connecting");
    let socket;
    try {
      const { token } = this.options;
      const value = typeof token === "function" ? await token() : token;
      if (generation !== this._generation || this._closed) return;
      this.user = value == null ? null : tokenSubject(value);
      socket = this._socket(value);
    } catch (error) {
      if (generation === this._generation && !this._closed) this._retry({ error: String(error) });
      return;
    }
    this._ws = socket;
    socket.onopen = () => this._opened(socket);
    socket.onmessage = (event) => this._receive(socket, event.data);
    socket.onclose = (event) => this._lost(socket, { code: event.code, reason: event.reason });
  }

  _socket(token) {
    const Socket = this.options.WebSocket || globalThis.WebSocket;
    const base = globalThis.location?.href;
    const url = new URL(this.url, base);
    if (url.protocol === "http:") url.protocol = "ws:";
    if (url.protocol === "https:") url.protocol = "wss:";
    if (token == null) return new Socket(url.href);
    if (this.options.tokenCarrier === "protocol") {
      return new Socket(url.href, [this.options.subprotocol, token]);
    }
    url.searchParams.set(this.options.queryParameter, token);
    return new Socket(url.href);
  }

  _opened(socket) {
    if (socket !== this._ws) return;
    if (this._openedOnce) this.reconnects += 1;
    this._openedOnce = true;
    this.attempt = 0;
    this._refreshing = false;
    this._status("open");
    const { pingIntervalMs, maxAgeMs } = this.options;
    this._timers.keepalive = setInterval(() => this._send({ action: "ping" }), pingIntervalMs);
    this._timers.refresh = setTimeout(() => {
      this._refreshing = true; // before API Gateway's cap: reconnect now, on our terms
      socket.close(1000, "refresh");
    }, maxAgeMs);
    for (const [room, state] of this.rooms) {
      state.subscribed = false;
      state.historyInFlight = false;
      this._send({ action: "subscribe", room });
    }
    this._pump();
  }

  _lost(socket, { code, reason }) {
    if (socket !== this._ws) return;
    this._ws = null;
    this._clearTimers(false);
    for (const state of this.rooms.values()) state.subscribed = false;
    this._failRequests(new Error("disconnected"));
    if (this._inflight) {
      clearTimeout(this._inflight.timer);
      this._inflight.recheck = true; // stored or not? the replay will tell
    }
    if (this._closed) return;
    if (this._refreshing) {
      this._refreshing = false;
      this._retry({ code, reason, delayMs: 0 });
    } else {
      this._retry({ code, reason });
    }
  }

  /** Wait, then connect again: full jitter over an exponentially growing window. */
  _retry(detail) {
    this._ws = null;
    this.attempt += 1;
    const { backoffBaseMs, backoffCapMs } = this.options;
    const window = Math.min(backoffCapMs, backoffBaseMs * 2 ** (this.attempt - 1));
    const delayMs = detail.delayMs ?? Math.round(Math.random() * window);
    this._status("reconnecting", { ...detail, delayMs });
    clearTimeout(this._timers.retry);
    this._timers.retry = setTimeout(() => {
      this._timers.retry = null;
      this._connect();
    }, delayMs);
  }

  /** The browser is back online: stop waiting. */
  _retryNow() {
    if (this._closed || !this._timers.retry) return;
    clearTimeout(this._timers.retry);
    this._timers.retry = null;
    this._connect();
  }

  _clearTimers(all) {
    clearInterval(this._timers.keepalive);
    clearTimeout(this._timers.refresh);
    if (all) clearTimeout(this._timers.retry);
    this._timers = all ? {} : { retry: this._timers.retry };
  }

  _status(state, detail = {}) {
    this.state = state;
    this._emit("status", { state, reconnects: this.reconnects, attempt: this.attempt, ...detail });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _send(frame) {
    if (!this.connected) return false;
    this._ws.send(JSON.stringify(frame));
    return true;
  }

  // -- frames from the server ----------------------------------------------------------------

  _receive(socket, raw) {
    if (socket !== this._ws) return;
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    switch (frame.type) {
      case "message":
        return this._message(frame);
      case "subscribed":
        return this._subscribed(frame);
      case "history":
        return this._history(frame);
      case "members":
        return this._settleMembers(frame.room, null, frame.members);
      case "presence":
        return this._emit("presence", { room: frame.room, event: frame.event, user: frame.user });
      case "request":
        return this._emit("request", {
          id: frame.id,
          data: frame.data,
          reply: (data) => this._send({ action: "reply", id: frame.id, data }),
        });
      case "error":
        return this._error(frame);
      case "pong":
      case "unsubscribed":
        return undefined;
      default:
        return this._emit("frame", frame);
    }
  }

  _subscribed(frame) {
    const state = this.rooms.get(frame.room);
    if (!state) return;
    state.subscribed = true;
    if (state.fresh) {
      // Live from the room's current seq; anything that arrived before the answer is kept.
      state.fresh = false;
      const first = Math.min(...state.pending.keys());
      state.last = Math.min(frame.seq, first - 1);
      this._flush(frame.room, state);
      if (state.pending.size) this._askHistory(frame.room, state);
    } else {
      this._askHistory(frame.room, state); // what was missed while away
    }
    for (const waiter of state.waiters.splice(0)) waiter.resolve(state.last);
    this._emit("subscribed", { room: frame.room, seq: frame.seq });
    this._pump();
  }

  _message(frame) {
    const state = typeof frame.seq === "number" ? this.rooms.get(frame.room) : undefined;
    this._confirm(frame);
    if (!state) return this._emit("message", frame); // to the user, or an untracked room
    if (frame.replay && state.replayFirst === null) state.replayFirst = frame.seq;
    if ((state.last !== null && frame.seq <= state.last) || state.pending.has(frame.seq)) return;
    state.pending.set(frame.seq, frame);
    this._flush(frame.room, state);
    // A live message that skips seqs: one was stored but not delivered; fetch it.
    if (!frame.replay && state.pending.size && state.subscribed && !state.historyInFlight) {
      this._askHistory(frame.room, state);
    }
  }

  _history(frame) {
    const { room } = frame;
    const state = this.rooms.get(room);
    if (!state) return;
    state.historyInFlight = false;
    if (!frame.complete) {
      // Messages after `since` left retention: skip to the first one still stored.
      const resume = state.replayFirst !== null ? state.replayFirst - 1 : frame.last_seq;
      this._emit("gap", { room, afterSeq: state.askedSince, resumedAt: resume + 1 });
      if (resume > state.last) this._skipTo(room, state, resume);
    }
    if (frame.more) return this._askHistory(room, state);
    if (state.pending.size) {
      const first = Math.min(...state.pending.keys());
      if (first - 1 <= frame.last_seq) {
        // History covered the hole and did not have it: it is gone.
        this._emit("gap", { room, afterSeq: state.last, resumedAt: first });
        this._skipTo(room, state, first - 1);
      } else {
        this._askHistory(room, state); // the hole is newer than that answer
      }
    }
    const item = this._inflight;
    if (item && item.recheck && item.room === room && !state.historyInFlight) {
      item.recheck = false; // the replay did not have it: it was never stored
      this._transmit(item);
    }
  }

  _skipTo(room, state, seq) {
    state.last = seq;
    for (const key of state.pending.keys()) if (key <= seq) state.pending.delete(key);
    this._flush(room, state);
  }

  _flush(room, state) {
    if (state.last === null) return;
    while (state.pending.has(state.last + 1)) {
      const frame = state.pending.get(state.last + 1);
      state.pending.delete(state.last + 1);
      state.last += 1;
      this._emit("message", frame);
    }
  }

  _askHistory(room, state) {
    if (!state.subscribed || state.last === null) return;
    state.historyInFlight = true;
    state.askedSince = state.last;
    state.replayFirst = null;
    this._send({ action: "history", room, since: state.last });
  }

  _error(frame) {
    const item = this._inflight;
    if (item && SEND_ERRORS.has(frame.code)) {
      clearTimeout(item.timer);
      if (frame.code === "room_busy" && item.busy++ < this.options.busyRetries) {
        // Nothing was stored or sent: send it again, after a little jitter.
        item.timer = setTimeout(() => this._transmit(item), Math.random() * 100);
        return;
      }
      this._inflight = null;
      item.reject(Object.assign(new Error(frame.message || frame.code), { code: frame.code }));
      this._pump();
      return;
    }
    if (SUBSCRIBE_ERRORS.has(frame.code)) {
      for (const [room, state] of this.rooms) {
        if (!state.subscribed && state.waiters.length) {
          this.rooms.delete(room);
          const error = Object.assign(new Error(frame.message || frame.code), { code: frame.code });
          for (const waiter of state.waiters.splice(0)) waiter.reject(error);
          break;
        }
      }
    }
    this._emit("error", frame);
  }

  // -- sending -------------------------------------------------------------------------------

  /** Send the next queued message once the last one is confirmed and its room joined. */
  _pump() {
    if (this._inflight || !this.connected) return;
    const next = this._outbox[0];
    if (!next) return;
    const state = this.rooms.get(next.room);
    if (!state) {
      this._outbox.shift().reject(new Error(`not subscribed to ${next.room}`));
      return this._pump();
    }
    if (!state.subscribed) return;
    this._inflight = this._outbox.shift();
    this._transmit(this._inflight);
  }

  _transmit(item) {
    const frame = { action: "sendmessage", room: item.room, data: item.data };
    if (item !== this._inflight || !this._send(frame)) return;
    clearTimeout(item.timer);
    item.timer = setTimeout(() => {
      if (this._inflight !== item) return;
      this._inflight = null;
      item.reject(new Error("no answer to sendmessage"));
      this._pump();
    }, this.options.answerTimeoutMs);
  }

  /** A message that is the one in flight coming back (live or replayed) confirms it. */
  _confirm(frame) {
    const item = this._inflight;
    if (!item || frame.room !== item.room || !sameJson(frame.data, item.data)) return;
    if (this.user !== null && frame.from !== this.user) return;
    clearTimeout(item.timer);
    this._inflight = null;
    item.resolve(frame.seq);
    queueMicrotask(() => this._pump());
  }

  _settleMembers(room, waiter, members) {
    const waiting = this._members.get(room) || [];
    const which = waiter ?? waiting[0];
    const index = waiting.indexOf(which);
    if (index < 0) return;
    waiting.splice(index, 1);
    clearTimeout(which.timer);
    if (members === null) which.reject(new Error(`no members answer for ${room}`));
    else which.resolve(members);
  }

  _failRequests(error) {
    for (const waiting of this._members.values()) {
      for (const waiter of waiting) {
        clearTimeout(waiter.timer);
        waiter.reject(error);
      }
    }
    this._members.clear();
  }
}

export default connect;
