// The live-comments demo: a thread whose comments, edits and deletes show in
// every open tab. Everything on screen comes from the thread's channel through
// the realer client (/client.js): the first connect replays the kept history,
// later ones resume from the last id. The page's own requests only emit events.
import { subscribe, subscribers } from "/client.js";

const params = new URLSearchParams(location.search);
const thread = /^[A-Za-z0-9_-]{1,64}$/.test(params.get("thread") ?? "") ? params.get("thread") : "demo";
const channel = `thread:${thread}`;
const $ = (id) => document.getElementById(id);
const list = $("comments");
const status = $("status");
const here = $("here");
$("thread-name").textContent = thread;
$("author").value = localStorage.getItem("realer.author") ?? "";

// What the client delivered, in order: open the console and look at realerDemo.seen.
const seen = [];
window.realerDemo = { seen, channel };

const STATUS_TEXT = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  closed: "closed",
};
function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text ?? STATUS_TEXT[state] ?? state;
}

const HUES = [214, 262, 330, 14, 38, 152, 188];
function hue(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return HUES[h % HUES.length];
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

function render(li, c) {
  li.dataset.id = c.id;
  li.innerHTML = `<div class="avatar" aria-hidden="true"></div>
    <div class="body">
      <div class="meta"><span class="author"></span><time></time><span class="edited" hidden>edited</span>
        <span class="actions"><button class="link edit" type="button">Edit</button><button class="link delete" type="button">Delete</button></span></div>
      <p class="text"></p>
    </div>`;
  const author = c.author || "anonymous";
  const avatar = li.querySelector(".avatar");
  avatar.textContent = author.slice(0, 1).toUpperCase();
  avatar.style.setProperty("--hue", hue(author));
  li.querySelector(".author").textContent = author;
  const when = c.createdAt || Number(li.dataset.createdAt) || Date.now();
  li.dataset.createdAt = String(when);
  li.querySelector("time").textContent = timeFmt.format(new Date(when));
  li.querySelector("time").dateTime = new Date(when).toISOString();
  // The worker sends escaped HTML: safe to insert as markup.
  li.querySelector(".text").innerHTML = c.html;
  li.querySelector(".edited").hidden = !c.editedAt;
}

const find = (id) => list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
const refreshEmpty = () => {
  $("empty").hidden = list.children.length > 0;
  $("count").textContent = list.children.length === 1 ? "1 comment" : `${list.children.length} comments`;
};

// ?dark=0.1 tries the dark launch: one page view in ten subscribes, renders nothing and shows its report.
const darkShare = params.has("dark") ? Number(params.get("dark")) : undefined;
const dark =
  darkShare >= 0 && darkShare <= 1 ? { dark: darkShare, reportEveryMs: 1000, onReport: showReport } : {};
function showReport(r) {
  const box = $("dark-report");
  box.hidden = false;
  box.textContent = `dark launch: ${r.received} received ${JSON.stringify(r.byType)}, nothing rendered`;
  box.dataset.received = String(r.received);
}

const sub = subscribe({
  channels: [channel],
  lastEventId: "0",
  ...dark,
  onStatus: (s) => {
    setStatus(s, s === "off" ? "off · not in the dark-launch share" : undefined);
    // Count this tab as soon as its stream is open, not at the next poll.
    if (s === "live") void refreshHere();
  },
  onReset: () => setStatus("live", "live · older history expired"),
  on: {
    "comment.created": (c, m) => {
      seen.push({ id: m.id, type: m.type, comment: c.id });
      if (find(c.id)) return;
      const li = document.createElement("li");
      li.className = "arrive";
      render(li, c);
      list.prepend(li);
      refreshEmpty();
    },
    "comment.edited": (c, m) => {
      seen.push({ id: m.id, type: m.type, comment: c.id });
      const li = find(c.id);
      if (!li) return;
      // While this tab edits the comment, the newest version waits for the form to close.
      if (li.classList.contains("editing")) {
        li.pending = c;
        return;
      }
      render(li, c);
      li.classList.remove("flash");
      void li.offsetWidth;
      li.classList.add("flash");
    },
    "comment.deleted": (c, m) => {
      seen.push({ id: m.id, type: m.type, comment: c.id });
      find(c.id)?.remove();
      refreshEmpty();
    },
  },
});
window.realerDemo.sub = sub;

// "N here": only when the edge answers GET /v1/channels/:channel.
async function refreshHere() {
  const n = await subscribers(channel);
  here.hidden = n === undefined;
  if (n !== undefined) here.textContent = n === 1 ? "1 here" : `${n} here`;
}
void refreshHere();
setInterval(refreshHere, 3000);

async function send(method, path, body) {
  const res = await fetch(`/demo/threads/${encodeURIComponent(thread)}/comments${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.ok) return true;
  const err = await res.json().catch(() => ({}));
  showError(err.message ?? `request failed: ${res.status}`);
  return false;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (box.hidden = true), 5000);
}

$("compose").addEventListener("submit", async (e) => {
  e.preventDefault();
  const author = $("author").value.trim();
  const text = $("text").value.trim();
  if (!author || !text) return;
  localStorage.setItem("realer.author", author);
  $("post").disabled = true;
  try {
    // Clear the box only if it still holds what was sent: a draft typed meanwhile stays.
    if ((await send("POST", "", { author, text })) && $("text").value.trim() === text) $("text").value = "";
  } finally {
    $("post").disabled = false;
    $("text").focus();
  }
});

$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) $("compose").requestSubmit();
});

function startEdit(li) {
  if (li.classList.contains("editing")) return;
  li.classList.add("editing");
  const p = li.querySelector(".text");
  const form = document.createElement("form");
  form.className = "edit-form";
  form.innerHTML = `<textarea class="edit-text" maxlength="4000" required></textarea>
    <div class="row"><button type="button" class="link cancel">Cancel</button><button type="submit" class="save">Save</button></div>`;
  const area = form.querySelector("textarea");
  area.value = p.textContent;
  p.hidden = true;
  p.after(form);
  area.focus();
  const done = () => {
    form.remove();
    p.hidden = false;
    li.classList.remove("editing");
    if (li.pending) render(li, li.pending);
    li.pending = undefined;
  };
  form.querySelector(".cancel").addEventListener("click", done);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = area.value.trim();
    if (!text) return;
    const author = $("author").value.trim() || li.querySelector(".author").textContent;
    // The edit comes back through the channel like everyone else's.
    if (await send("PATCH", `/${encodeURIComponent(li.dataset.id)}`, { author, text })) done();
  });
}

list.addEventListener("click", async (e) => {
  const li = e.target.closest("li");
  if (!li) return;
  if (e.target.classList.contains("delete")) await send("DELETE", `/${encodeURIComponent(li.dataset.id)}`);
  if (e.target.classList.contains("edit")) startEdit(li);
});
refreshEmpty();
