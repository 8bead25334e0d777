// The live admin page: polls /admin/api/overview once a second with the
// admin token and draws the numbers, per-second rates and small SVG charts.
const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const KEEP = 60;
const series = { rate: [], lag: [], connections: [] };
let token = sessionStorage.getItem("realer-admin-token") || "";
let prev;
let timer;

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function spark(id, values) {
  const svg = $(id);
  if (!svg) return;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 120 / (values.length - 1) : 0;
  const pts = values
    .map((v, i) => `${(i * step).toFixed(1)},${(30 - (v / max) * 28 - 1).toFixed(1)}`)
    .join(" ");
  svg.innerHTML = `<polyline points="${pts}"></polyline>`;
}

function push(name, v) {
  series[name].push(v);
  if (series[name].length > KEEP) series[name].shift();
  spark(`chart-${name}`, series[name]);
}

function render(o) {
  const secs = prev ? (o.at - prev.at) / 1000 : 0;
  const rate = secs > 0 ? (o.settled.acked - prev.settled.acked) / secs : 0;
  const lag = o.consumer ? o.consumer.pending + o.consumer.ackPending : 0;
  $("connections").textContent = o.edge ? o.edge.connections : "-";
  $("channels").textContent = o.edge ? o.edge.channels : "-";
  $("rate").textContent = rate.toFixed(1);
  $("acked").textContent = o.settled.acked;
  $("lag").textContent = lag;
  $("dead").textContent = o.streams.deadLetters;
  $("balance").textContent = o.audit.balance;
  $("balance").className = o.audit.balance === 0 && o.audit.imbalances.length === 0 ? "good" : "bad";
  $("balance-note").textContent = `${o.audit.inFlightChange} in flight`;
  $("audit-since").textContent = new Date(o.audit.since).toLocaleTimeString();
  $("audit-line").textContent =
    `${o.audit.produced} produced = ${o.audit.acked} acked + ${o.audit.dead} dead-lettered + ${o.audit.inFlightChange} in flight` +
    ` (balance ${o.audit.balance})`;
  $("imbalances").replaceChildren(
    ...o.audit.imbalances.map((t) =>
      Object.assign(document.createElement("li"), { textContent: t, className: "bad" }),
    ),
  );
  const before = new Map((prev?.stages ?? []).map((s) => [s.stage, s]));
  $("stages").replaceChildren(
    ...o.stages.map((s) => {
      const tr = document.createElement("tr");
      tr.dataset.stage = s.stage;
      const p = before.get(s.stage);
      const perSec = p && secs > 0 ? ((s.in - p.in) / secs).toFixed(1) : "-";
      for (const v of [s.stage, s.in, perSec, s.passed, s.dropped, s.retried, s.failed]) {
        tr.append(Object.assign(document.createElement("td"), { textContent: String(v) }));
      }
      return tr;
    }),
  );
  push("rate", rate);
  push("lag", lag);
  push("connections", o.edge ? o.edge.connections : 0);
  prev = o;
}

async function poll() {
  try {
    const res = await fetch("/admin/api/overview", { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    if (!res.ok) {
      showError(`${body.code}: ${body.message}`);
      $("status").textContent = "refused";
      $("dash").hidden = true;
      return;
    }
    showError("");
    const missing = body.unreachable.length > 0 ? ` (not answering: ${body.unreachable.join(", ")})` : "";
    $("status").textContent = `live, ${new Date(body.at).toLocaleTimeString()}${missing}`;
    $("dash").hidden = false;
    render(body);
  } catch (err) {
    $("status").textContent = `offline: ${err.message}`;
  }
  timer = setTimeout(poll, POLL_MS);
}

function start() {
  clearTimeout(timer);
  prev = undefined;
  for (const k of Object.keys(series)) series[k] = [];
  void poll();
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value;
  sessionStorage.setItem("realer-admin-token", token);
  start();
});

if (token) start();
