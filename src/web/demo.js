// The live-comments demo page. One EventSource carries the thread's channel;
// the browser resumes it with Last-Event-ID after any disconnect.
const params = new URLSearchParams(location.search);
const thread = /^[A-Za-z0-9_-]{1,64}$/.test(params.get("thread") ?? "") ? params.get("thread") : "demo";
const channel = `thread:${thread}`;
const $ = (id) => document.getElementById(id);
const list = $("comments");
const status = $("status");
$("thread-name").textContent = thread;
$("author").value = localStorage.getItem("realer.author") ?? "";

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function render(li, c) {
  li.dataset.id = c.id;
  li.innerHTML = `<div class="meta"><span class="author"></span><time></time>
    <span class="actions"><button class="link edit" type="button">edit</button><button class="link delete" type="button">delete</button></span></div>
    <p class="text"></p>`;
  li.querySelector(".author").textContent = c.author;
  li.querySelector("time").textContent = new Date(c.editedAt ?? c.createdAt ?? Date.now()).toLocaleTimeString();
  // The worker sends escaped HTML: it is safe to insert as markup.
  li.querySelector(".text").innerHTML = c.html;
  if (c.editedAt) li.querySelector("time").textContent += " · edited";
}

function refreshEmpty() {
  $("empty").hidden = list.children.length > 0;
}

// A full history on first connect (cursor 0); afterwards the browser sends Last-Event-ID itself.
const es = new EventSource(`/v1/sse?channel=${encodeURIComponent(channel)}&last_event_id=0`);
es.onopen = () => setStatus("live", "live");
es.onerror = () => setStatus("down", "reconnecting…");
es.addEventListener("comment.created", (e) => {
  const { data } = JSON.parse(e.data);
  if (list.querySelector(`[data-id="${CSS.escape(data.id)}"]`)) return;
  const li = document.createElement("li");
  render(li, data);
  list.prepend(li);
  refreshEmpty();
});
es.addEventListener("comment.edited", (e) => {
  const { data } = JSON.parse(e.data);
  const li = list.querySelector(`[data-id="${CSS.escape(data.id)}"]`);
  if (li) render(li, data);
});
es.addEventListener("comment.deleted", (e) => {
  const { data } = JSON.parse(e.data);
  list.querySelector(`[data-id="${CSS.escape(data.id)}"]`)?.remove();
  refreshEmpty();
});
es.addEventListener("reset", () => {
  // History is gone beyond our cursor: what we show may be stale but stays; new events keep coming.
  setStatus("live", "live (older history expired)");
});

async function send(method, path, body) {
  const res = await fetch(`/demo/threads/${thread}/comments${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    alert(err.message ?? `request failed: ${res.status}`);
  }
}

$("compose").addEventListener("submit", async (e) => {
  e.preventDefault();
  const author = $("author").value.trim();
  const text = $("text").value.trim();
  if (!author || !text) return;
  localStorage.setItem("realer.author", author);
  $("text").value = "";
  await send("POST", "", { author, text });
});

list.addEventListener("click", async (e) => {
  const li = e.target.closest("li");
  if (!li) return;
  const author = $("author").value.trim() || "anonymous";
  if (e.target.classList.contains("delete")) await send("DELETE", `/${li.dataset.id}`);
  if (e.target.classList.contains("edit")) {
    const text = prompt("Edit comment", li.querySelector(".text").textContent);
    if (text?.trim()) await send("PATCH", `/${li.dataset.id}`, { author, text: text.trim() });
  }
});
refreshEmpty();
