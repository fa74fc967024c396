// The demo chat page: realtime-socket.js against `realtime-socket dev` on this origin.
// URL parameters fill the form: ?namespace=chat&room=lobby&user=alice&join=1 joins at once.
import { connect } from "/realtime-socket.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { client: null, namespace: null, room: null, user: null, members: new Map() };
let namespaces = [];

async function loadNamespaces() {
  const answer = await fetch("/_dev/namespaces");
  namespaces = (await answer.json()).namespaces.filter(
    (ns) => ns.token && ns.carriers.some((c) => c === "query" || c === "protocol"),
  );
  const select = $("namespace");
  select.replaceChildren(...namespaces.map((ns) => new Option(ns.namespace, ns.namespace)));
  if (params.get("namespace")) select.value = params.get("namespace");
}

async function token() {
  const query = new URLSearchParams({ namespace: state.namespace, sub: state.user });
  const answer = await fetch(`/_dev/token?${query}`);
  const body = await answer.json();
  if (!answer.ok) throw new Error(body.error);
  return body.token;
}

function join(namespace, room, user) {
  const info = namespaces.find((ns) => ns.namespace === namespace);
  Object.assign(state, { namespace, room, user, members: new Map() });
  $("room-title").textContent = room;
  $("me").textContent = `as ${user}`;
  $("text").placeholder = `Message #${room}`;
  $("messages").replaceChildren();
  renderMembers();
  $("join").hidden = true;
  $("chat").hidden = false;
  const client = connect(info.path, {
    token,
    tokenCarrier: info.carriers.includes("query") ? "query" : "protocol",
    queryParameter: info.query_parameter,
    rooms: [room],
    backoffCapMs: 8000,
  });
  state.client = client;
  client.on("status", renderStatus);
  client.on("message", addMessage);
  client.on("subscribed", refreshMembers);
  client.on("presence", (p) => {
    if (p.room !== state.room) return;
    if (p.event === "join") state.members.set(p.user, state.members.get(p.user) || 1);
    if (p.event === "leave") state.members.delete(p.user);
    renderMembers();
    refreshMembers(); // the server's count of each user's connections is authoritative
  });
  client.on("gap", (g) => notice(`Some messages of #${g.room} are no longer stored`));
  client.on("error", (f) => notice(`${f.code}: ${f.message}`, "error"));
  $("text").focus();
}

async function refreshMembers() {
  try {
    const list = await state.client.members(state.room);
    state.members = new Map(list.map((m) => [m.user, m.connections]));
    renderMembers();
  } catch {
    // disconnected meanwhile: the next `subscribed` asks again
  }
}

function renderMembers() {
  const users = [...state.members.keys()].sort();
  $("members").replaceChildren(
    ...users.map((user) => {
      const item = document.createElement("li");
      item.dataset.user = user;
      item.append(avatar(user), text("span", user, "name"));
      if (user === state.user) item.append(text("span", "you", "tag"));
      return item;
    }),
  );
  $("count").textContent = String(users.length);
}

function renderStatus(s) {
  const box = $("status");
  box.dataset.state = s.state;
  box.dataset.reconnects = String(s.reconnects);
  const again = s.reconnects ? ` · reconnected ${s.reconnects}×` : "";
  const words = {
    connecting: s.attempt ? `Connecting (attempt ${s.attempt + 1})…` : "Connecting…",
    open: `Connected${again}`,
    reconnecting: `Reconnecting in ${(s.delayMs / 1000).toFixed(1)} s…`,
    closed: "Not connected",
  };
  $("status-text").textContent = words[s.state] || s.state;
  if (s.state === "reconnecting" && s.code) {
    notice(`Connection closed (${s.code}${s.reason ? ` ${s.reason}` : ""}); reconnecting`);
  }
  if (s.state === "open" && s.reconnects) notice("Reconnected: catching up on missed messages");
}

function addMessage(m) {
  const item = document.createElement("li");
  const mine = m.from === state.user;
  item.className = `message${mine ? " mine" : ""}`;
  item.dataset.seq = String(m.seq ?? "");
  item.dataset.from = m.from;
  const body = typeof m.data?.text === "string" ? m.data.text : JSON.stringify(m.data);
  const time = new Date(m.ts || Date.now()).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
  });
  const meta = text("div", "", "meta");
  meta.append(text("span", mine ? "you" : m.from, "from"), text("span", time, "time"));
  if (m.replay) meta.append(text("span", "replayed", "replayed"));
  item.append(avatar(m.from), text("div", "", "bubble"));
  item.lastChild.append(meta, text("p", body, "text"));
  append(item);
}

function notice(message, kind = "notice") {
  append(text("li", message, kind));
}

function append(item) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

function avatar(user) {
  const node = text("span", (user || "?").slice(0, 1).toUpperCase(), "avatar");
  let hue = 0;
  for (const c of user || "") hue = (hue * 31 + c.charCodeAt(0)) % 360;
  node.style.setProperty("--hue", String(hue));
  return node;
}

$("join").addEventListener("submit", (event) => {
  event.preventDefault();
  const user = $("user").value.trim();
  const room = $("room").value.trim();
  if (user && room) join($("namespace").value, room, user);
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("text");
  const words = input.value.trim();
  if (!words || !state.client) return;
  input.value = "";
  state.client.send(state.room, { text: words }).catch((e) => notice(e.message, "error"));
});

$("drop").addEventListener("click", async () => {
  const query = new URLSearchParams({ namespace: state.namespace, user: state.user });
  await fetch(`/_dev/drop?${query}`, { method: "POST" }).catch(() => null);
});

$("leave").addEventListener("click", () => {
  state.client?.close();
  state.client = null;
  $("chat").hidden = true;
  $("join").hidden = false;
});

$("user").value = params.get("user") || "";
$("room").value = params.get("room") || "lobby";
loadNamespaces()
  .then(() => {
    if (params.get("join") && $("user").value) $("join").requestSubmit();
  })
  .catch((e) => {
    $("join-error").textContent = `Cannot list namespaces: ${e.message}`;
    $("join-error").hidden = false;
  });
