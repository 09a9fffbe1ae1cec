// The flow canvas: drag a trigger and steps from the palette, connect them, configure each with the
// component's forms, write JSONata mappings with a live preview, save/load the flow file, run it.
//
// Each node keeps the step exactly as the file has it (`raw`); the canvas changes only the keys a
// person edits, so a file opened and saved unchanged is written byte for byte (the server checks).
// Where a node sits is saved under `studio.positions` (step id -> {x, y}) for the nodes a person
// placed (dropped, dragged, or already positioned in the file); the others are laid out on open,
// so a file without positions stays without them until a node is moved.
import { api, el, jsonTree, setStatus } from "./api.js";
import { fieldControl, readFields } from "./forms.js";

const fnCache = new Map();
async function fnInfo(component, fn) {
  const key = component + "/" + fn;
  if (!fnCache.has(key)) fnCache.set(key, api("GET", `/api/components/${encodeURIComponent(component)}/functions/${encodeURIComponent(fn)}`));
  return fnCache.get(key);
}

const compCache = new Map();
async function compInfo(component) {
  if (!compCache.has(component)) compCache.set(component, api("GET", `/api/components/${encodeURIComponent(component)}`));
  return compCache.get(component);
}

let S = null; // the open flow: {path, doc, nodes: [{key, kind, raw, x, y, placed, sample}], edges: [{from, to}], selected}
let nextKey = 1;
let pollTimer = null;

export async function flowsView(view, path) {
  if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  const [catalogue, files, creds] = await Promise.all([api("GET", "/api/components"), api("GET", "/api/flows"), api("GET", "/api/credentials")]);
  const board = el("div.board#board");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  board.append(svg);
  const inspector = el("section.inspector#inspector", {}, el("p.muted", {}, "Select a step to configure it."));
  const runPanel = el("div.runpanel#runpanel", {}, el("p.muted", {}, "Save the flow, then run it: each step shows how many messages it finished, has in flight, failed or holds in doubt."));
  const pathInput = el("input#flow-path", { type: "text", value: path || (S && S.path) || "flow.yaml", placeholder: "flows/orders.yaml" });
  const nameInput = el("input#flow-name", { type: "text", placeholder: "flow name" });
  const openSel = el("select#flow-open", {}, el("option", { value: "" }, "open\u2026"), files.map((f) => el("option", { value: f.path }, f.path)));
  const problems = el("div.problems#problems");
  const ctx = { board, svg, inspector, runPanel, problems, creds, nameInput, pathInput };

  openSel.addEventListener("change", () => { if (openSel.value) location.hash = "#/flows/" + openSel.value; });
  nameInput.addEventListener("input", () => { S.doc.name = nameInput.value; });

  const palette = el("section.palette#palette", {}, el("h2", {}, "Components"),
    el("p.muted", {}, "Drag a trigger, then actions, onto the canvas; connect \u25cf to \u25cb."),
    catalogue.filter((c) => !c.error).map((c) => el("div.comp", {},
      el("b", {}, c.title),
      c.triggers.map((t) => paletteItem(c, "trigger", t, ctx)),
      el("details", {}, el("summary.muted", {}, `${c.actions.length} actions`),
        c.actions.map((a) => paletteItem(c, "action", a, ctx))))));

  const toolbar = el("div.toolbar", {},
    el("label.inline", { for: "flow-path" }, "file"), pathInput, openSel,
    el("button#flow-new", { type: "button", onclick: () => { S = emptyFlow(pathInput.value); render(ctx); } }, "New"),
    el("button#flow-save", { type: "button", onclick: () => save(ctx) }, "Save"),
    el("label.inline", { for: "flow-name" }, "name"), nameInput,
    el("button.primary#flow-run", { type: "button", onclick: () => runFlow(ctx) }, "Run once"),
    problems);
  view.replaceChildren(el("div.flows", {}, palette, el("section.board-wrap", {}, toolbar, board, runPanel), inspector));

  if (path) {
    const f = await api("GET", "/api/flows/file?path=" + encodeURIComponent(path));
    S = fromDoc(f.path, f.doc);
    showProblems(ctx, f.problems);
  } else if (!S) {
    S = emptyFlow(pathInput.value);
  }
  render(ctx);
  board.addEventListener("pointerdown", (e) => { if (e.target === board) { S.selected = null; render(ctx); } });
  if (S.path) await refreshStatus(ctx, false);
}

function emptyFlow(path) {
  return { path, doc: { name: "my-flow" }, nodes: [], edges: [], selected: null };
}

function fromDoc(path, doc) {
  const nodes = [];
  const edges = [];
  // A staircase, left to right and top to bottom, so every edge runs forward.
  // A node the file gives a position to (studio.positions, by step id) is drawn there.
  const saved = (doc.studio && doc.studio.positions) || {};
  const at = (raw, kind, auto) => {
    const p = saved[raw.id || (kind === "trigger" ? "trigger" : "")];
    return p && Number.isFinite(p.x) && Number.isFinite(p.y) ? { x: p.x, y: p.y, placed: true } : auto;
  };
  const place = (i) => ({ x: 20 + (i % 5) * 130, y: 20 + (i % 5) * 95 + Math.floor(i / 5) * 500 });
  if (doc.trigger) nodes.push({ key: "n" + nextKey++, kind: "trigger", raw: doc.trigger, ...at(doc.trigger, "trigger", place(0)) });
  (doc.steps || []).forEach((s, i) => {
    const node = { key: "n" + nextKey++, kind: "action", raw: s, ...at(s, "action", place(i + 1)) };
    if (nodes.length) edges.push({ from: nodes[nodes.length - 1].key, to: node.key });
    nodes.push(node);
  });
  // Error steps receive routed failures (onError: {then: route}); they sit apart, unconnected.
  (doc.errorSteps || []).forEach((s, i) => {
    nodes.push({ key: "n" + nextKey++, kind: "action", errorStep: true, raw: s, ...at(s, "action", { x: 20 + i * 230, y: 520 }) });
  });
  return { path, doc, nodes, edges, selected: null };
}

function stepId(n) {
  return n.raw.id || (n.kind === "trigger" ? "trigger" : "?");
}

function uniqueId(base) {
  const taken = new Set(S.nodes.map(stepId));
  let id = base.replace(/[^A-Za-z0-9_]/g, "_").replace(/^[^A-Za-z]+/, "") || "step";
  if (!taken.has(id)) return id;
  for (let i = 2; ; i++) if (!taken.has(id + i)) return id + i;
}

// ------------------------------------------------------------------ drag from the palette

function paletteItem(c, kind, f, ctx) {
  const item = el("div.item", { title: f.name, dataset: { component: c.name, fn: f.name, kind } }, el("span.kind." + kind, {}, kind), " ", f.title);
  item.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    const ghost = el("div.node." + kind, { style: `left:${e.clientX}px;top:${e.clientY}px;position:fixed;opacity:.8;pointer-events:none;z-index:10` },
      el("div.nid", {}, f.name), el("div.nfn", {}, c.name));
    document.body.append(ghost);
    const move = (ev) => { ghost.style.left = ev.clientX - 20 + "px"; ghost.style.top = ev.clientY - 10 + "px"; };
    const up = (ev) => {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      ghost.remove();
      const r = ctx.board.getBoundingClientRect();
      if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) return;
      drop(ctx, c.name, kind, f.name, ev.clientX - r.left + ctx.board.scrollLeft - 20, ev.clientY - r.top + ctx.board.scrollTop - 10);
    };
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
  });
  return item;
}

function drop(ctx, component, kind, fn, x, y) {
  if (kind === "trigger" && S.nodes.some((n) => n.kind === "trigger")) {
    setStatus("a flow has one trigger: delete the current one first", "bad");
    return;
  }
  const raw = kind === "trigger"
    ? { component, function: fn, schedule: { every: "60s" } }
    : { id: uniqueId(fn), component, function: fn };
  const node = { key: "n" + nextKey++, kind, raw, x: Math.max(0, Math.round(x)), y: Math.max(0, Math.round(y)), placed: true };
  S.nodes.push(node);
  S.selected = node.key;
  render(ctx);
}

// ------------------------------------------------------------------ drawing

function render(ctx) {
  const { board, svg } = ctx;
  ctx.nameInput.value = S.doc.name || "";
  ctx.pathInput.value = S.path || ctx.pathInput.value;
  for (const n of board.querySelectorAll(".node")) n.remove();
  for (const n of S.nodes) board.append(nodeEl(ctx, n));
  drawEdges(ctx);
  inspect(ctx);
}

function nodeEl(ctx, n) {
  const node = el("div.node." + n.kind, { style: `left:${n.x}px;top:${n.y}px`, dataset: { key: n.key, step: stepId(n) } },
    el("div.nid", {}, stepId(n)),
    el("div.nfn", {}, `${n.raw.component}.${n.raw.function}`),
    el("div.counts", { dataset: { counts: stepId(n) } }),
    n.kind === "action" ? el("span.port.in", { dataset: { port: "in" } }) : null,
    el("span.port.out", { dataset: { port: "out" } }));
  if (n.key === S.selected) node.classList.add("selected");
  if (n.errorStep) node.classList.add("error-step");
  node.addEventListener("pointerdown", (e) => {
    if (e.target.dataset.port === "out") return startConnect(ctx, n, e);
    if (e.target.dataset.port) return;
    e.preventDefault();
    const sx = e.clientX - n.x, sy = e.clientY - n.y;
    let moved = false;
    const move = (ev) => {
      if (ev.clientX === e.clientX && ev.clientY === e.clientY) return;
      moved = true;
      n.placed = true;
      n.x = Math.max(0, Math.round(ev.clientX - sx)); n.y = Math.max(0, Math.round(ev.clientY - sy));
      node.style.left = n.x + "px"; node.style.top = n.y + "px"; drawEdges(ctx);
    };
    const up = () => {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      if (!moved || S.selected !== n.key) { S.selected = n.key; render(ctx); }
    };
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
  });
  return node;
}

function portXY(n, which) {
  return which === "out" ? [n.x + 204, n.y + 34] : [n.x - 4, n.y + 34];
}

function curve([x1, y1], [x2, y2]) {
  const dx = Math.max(40, Math.abs(x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
}

function drawEdges(ctx, extra) {
  const paths = S.edges.map((e) => {
    const a = S.nodes.find((n) => n.key === e.from), b = S.nodes.find((n) => n.key === e.to);
    return a && b ? curve(portXY(a, "out"), portXY(b, "in")) : null;
  }).filter(Boolean);
  if (extra) paths.push(extra);
  ctx.svg.innerHTML = paths.map((d) => `<path d="${d}"/>`).join("");
}

function startConnect(ctx, from, e) {
  e.preventDefault();
  const r = ctx.board.getBoundingClientRect();
  const at = (ev) => [ev.clientX - r.left + ctx.board.scrollLeft, ev.clientY - r.top + ctx.board.scrollTop];
  const move = (ev) => drawEdges(ctx, curve(portXY(from, "out"), at(ev)));
  const up = (ev) => {
    document.removeEventListener("pointermove", move);
    document.removeEventListener("pointerup", up);
    const target = document.elementFromPoint(ev.clientX, ev.clientY);
    const nodeDiv = target && target.closest(".node");
    const to = nodeDiv && S.nodes.find((n) => n.key === nodeDiv.dataset.key);
    if (to && to.key !== from.key && to.kind !== "trigger" && !to.errorStep && !from.errorStep) {
      // A chain: one edge out of each step and one into each.
      S.edges = S.edges.filter((x) => x.from !== from.key && x.to !== to.key);
      S.edges.push({ from: from.key, to: to.key });
    }
    drawEdges(ctx);
  };
  document.addEventListener("pointermove", move);
  document.addEventListener("pointerup", up);
}

// The chain from the trigger; problems for nodes it does not reach.
function chain() {
  const trig = S.nodes.find((n) => n.kind === "trigger");
  const order = [];
  const seen = new Set();
  let cur = trig;
  while (cur && !seen.has(cur.key)) {
    order.push(cur);
    seen.add(cur.key);
    const e = S.edges.find((x) => x.from === cur.key);
    cur = e && S.nodes.find((n) => n.key === e.to);
  }
  const loose = S.nodes.filter((n) => !seen.has(n.key) && !n.errorStep);
  return { trig, order, loose };
}

function previousOf(node) {
  const { order } = chain();
  const i = order.findIndex((n) => n.key === node.key);
  return { prev: i > 0 ? order[i - 1] : null, earlier: i > 0 ? order.slice(0, i) : [] };
}

// ------------------------------------------------------------------ the inspector

function credentialChoices(ctx, component, current) {
  const names = new Set(ctx.creds.filter((c) => c.component === component).map((c) => c.name));
  for (const n of Object.keys(S.doc.credentials || {})) names.add(n);
  if (current) names.add(current);
  return [...names].sort();
}

function setKey(raw, key, value) {
  if (value === undefined || value === "" || (typeof value === "object" && value !== null && !Array.isArray(value) && !Object.keys(value).length)) {
    delete raw[key];
  } else raw[key] = value;
}

async function inspect(ctx) {
  const n = S.nodes.find((x) => x.key === S.selected);
  if (!n) { ctx.inspector.replaceChildren(el("p.muted", {}, "Select a step to configure it.")); return; }
  const fn = await fnInfo(n.raw.component, n.raw.function);
  if (S.selected !== n.key) return;
  const refresh = () => { const d = ctx.board.querySelector(`.node[data-key="${n.key}"]`); if (d) { d.querySelector(".nid").textContent = stepId(n); d.dataset.step = stepId(n); } };

  const idInput = el("input#step-id", { type: "text", value: stepId(n) });
  idInput.addEventListener("input", () => { n.raw.id = idInput.value; refresh(); });

  const credSel = el("select#step-credentials", {}, el("option", { value: "" }, "(none)"),
    credentialChoices(ctx, n.raw.component, n.raw.credentials).map((c) => el("option", { value: c, selected: c === n.raw.credentials }, c)));
  credSel.addEventListener("change", () => setKey(n.raw, "credentials", credSel.value || undefined));

  const fieldsBox = el("div.step-fields", {}, fn.fields.map((f) => fieldControl(f, (n.raw.cfg || {})[f.name], { path: "cfg." + f.name })));
  const writeCfg = () => { try { setKey(n.raw, "cfg", readFields(fieldsBox)); } catch { /* shown on save */ } };
  fieldsBox.addEventListener("input", writeCfg);
  fieldsBox.addEventListener("change", writeCfg);

  const parts = [
    el("h2", {}, el("span.kind." + n.kind, {}, n.kind), " ", fn.title),
    el("p.muted", {}, `${n.raw.component}.${n.raw.function}`),
    el("div.field", {}, el("label", { for: "step-id" }, "Step id"), idInput),
    el("div.field", {}, el("label", { for: "step-credentials" }, "Credentials (a saved set, by name)"), credSel),
    fn.fields.length ? el("h3", {}, "Settings") : null, fieldsBox,
  ];

  if (n.kind === "trigger") {
    const every = el("input#schedule-every", { type: "text", value: (n.raw.schedule && (n.raw.schedule.every ?? "")) || "", placeholder: "60s" });
    every.addEventListener("input", () => setKey(n.raw, "schedule", every.value ? { every: every.value } : undefined));
    parts.push(el("div.field", {}, el("label", { for: "schedule-every" }, "Poll every"), every));
  } else {
    const mapping = el("textarea.code#step-mapping", { rows: 7, spellcheck: false, placeholder: "{ \"name\": Customer.Name }" }, n.raw.mapping || "");
    const when = el("input#step-when", { type: "text", value: n.raw.when || "", placeholder: "JSONata condition (optional)" });
    const split = el("input#step-split", { type: "text", value: n.raw.split || "", placeholder: "JSONata array: one message per item (optional)" });
    const preview = el("div.preview#mapping-preview");
    const { prev, earlier } = previousOf(n);
    let timer = null;
    const run = () => { clearTimeout(timer); timer = setTimeout(() => previewMapping(n, prev, earlier, preview), 250); };
    mapping.addEventListener("input", () => { setKey(n.raw, "mapping", mapping.value || undefined); run(); });
    when.addEventListener("input", () => setKey(n.raw, "when", when.value || undefined));
    split.addEventListener("input", () => setKey(n.raw, "split", split.value || undefined));
    const comp = await compInfo(n.raw.component);
    const lk = n.raw.lookup || {};
    const lookupFn = el("select#lookup-function", {}, el("option", { value: "" }, "(no lookup: always call)"),
      comp.actions.map((a) => el("option", { value: a.name, selected: a.name === lk.function }, `${a.title} (${a.name})`)));
    const lookupMap = el("input#lookup-mapping", { type: "text", value: lk.mapping || "", placeholder: "JSONata: the lookup's input (default: the step's input)" });
    const lookupWhere = el("input#lookup-where", { type: "text", value: lk.where || "", placeholder: "JSONata over each found record; $input is the step's input" });
    const writeLookup = () => {
      if (!lookupFn.value) { delete n.raw.lookup; return; }
      const next = { ...(n.raw.lookup || {}), function: lookupFn.value };
      setKey(next, "mapping", lookupMap.value || undefined);
      setKey(next, "where", lookupWhere.value || undefined);
      n.raw.lookup = next;
    };
    for (const c of [lookupFn, lookupMap, lookupWhere]) c.addEventListener("input", writeLookup);
    lookupFn.addEventListener("change", writeLookup);
    const oe = n.raw.onError || {};
    const thenSel = el("select#onerror-then", {}, ["stop", "skip", "route"].map((v) => el("option", { value: v, selected: (oe.then || "stop") === v }, v)));
    const retries = el("input#onerror-retries", { type: "number", min: 0, max: 100, value: oe.retries ?? "", placeholder: "5" });
    const route = el("input#onerror-route", { type: "text", value: oe.route || "", placeholder: "error step id (with route)" });
    const writeOnError = () => {
      const next = { ...(n.raw.onError || {}) };
      setKey(next, "then", thenSel.value === "stop" && !("then" in (n.raw.onError || {})) ? undefined : thenSel.value);
      setKey(next, "retries", retries.value === "" ? undefined : Number(retries.value));
      setKey(next, "route", route.value || undefined);
      setKey(n.raw, "onError", next);
    };
    for (const c of [thenSel, retries, route]) { c.addEventListener("input", writeOnError); c.addEventListener("change", writeOnError); }
    parts.push(el("h3", {}, "Mapping (JSONata)"),
      el("p.muted", {}, prev ? `Over the output of \u201c${stepId(prev)}\u201d; earlier steps as $passthrough.<id>.` : "Connect a step before this one to map its output."),
      mapping, el("h3", {}, "Preview", prev ? el("button.small#get-sample", { type: "button", onclick: () => getSample(ctx, prev, earlier.slice(0, -1)).then(run) }, `run \u201c${stepId(prev)}\u201d for a sample`) : null),
      preview,
      el("div.field", {}, el("label", { for: "step-when" }, "Only when"), when),
      el("div.field", {}, el("label", { for: "step-split" }, "Split"), split),
      el("h3", {}, "Look up first (lookup-or-create)"),
      el("div.field", {}, el("label", { for: "lookup-function" }, "Lookup action"), lookupFn),
      el("div.field", {}, el("label", { for: "lookup-mapping" }, "Lookup input"), lookupMap),
      el("div.field", {}, el("label", { for: "lookup-where" }, "Found when"), lookupWhere),
      el("h3", {}, "On error"),
      el("div.row", {}, el("label.inline", { for: "onerror-retries" }, "retries"), retries, el("label.inline", { for: "onerror-then" }, "then"), thenSel, route));
    run();
  }
  if (n.kind === "action") {
    const isError = el("input#error-step", { type: "checkbox", checked: !!n.errorStep });
    isError.addEventListener("change", () => {
      n.errorStep = isError.checked;
      if (n.errorStep) S.edges = S.edges.filter((e) => e.from !== n.key && e.to !== n.key);
      render(ctx);
    });
    parts.push(el("label.inline", {}, isError, " error step: receives the failures that steps route to it (not in the chain)"));
  }
  parts.push(el("div.row", {}, el("button#delete-step", { type: "button", onclick: () => {
    S.nodes = S.nodes.filter((x) => x.key !== n.key);
    S.edges = S.edges.filter((e) => e.from !== n.key && e.to !== n.key);
    S.selected = null;
    render(ctx);
  } }, "Delete step")));
  ctx.inspector.replaceChildren(...parts.filter(Boolean));
}

function skeleton(schema, depth = 0) {
  if (!schema || depth > 4) return null;
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "object" || schema.properties) {
    const out = {};
    for (const [k, v] of Object.entries(schema.properties || {})) out[k] = skeleton(v, depth + 1);
    return out;
  }
  if (type === "array") return [skeleton(schema.items, depth + 1)];
  if (type === "integer" || type === "number") return 1;
  if (type === "boolean") return false;
  if (type === "string") return schema.format === "date-time" ? "2024-01-01T00:00:00Z" : "";
  return null;
}

async function sampleOf(node) {
  if (node.sample !== undefined && node.sample !== null) return { value: node.sample, real: true };
  const fn = await fnInfo(node.raw.component, node.raw.function);
  let schema = fn.out;
  if (schema && schema.type === "array" && schema.items) schema = schema.items;
  return { value: skeleton(schema), real: false };
}

async function previewMapping(n, prev, earlier, box) {
  if (!prev) { box.replaceChildren(); return; }
  const input = await sampleOf(prev);
  const passthrough = {};
  for (const e of earlier) passthrough[stepId(e)] = (await sampleOf(e)).value;
  const r = await api("POST", "/api/flows/preview", { expression: n.raw.mapping || "", input: input.value, passthrough, step: stepId(n) });
  const note = el("p.muted", {}, input.real ? `on the sample output of \u201c${stepId(prev)}\u201d` : `on a skeleton of \u201c${stepId(prev)}\u201d's out-schema (run it for a real sample)`);
  if (r.error) box.replaceChildren(note, el("p.error-line#preview-error", {}, r.error.line));
  else box.replaceChildren(note, jsonTree(r.result, 3));
}

async function credentialIdFor(ctx, component, name) {
  const c = ctx.creds.find((x) => x.component === component && x.name === name);
  return c ? c.id : "";
}

async function getSample(ctx, node, earlier) {
  setStatus(`running ${stepId(node)} for a sample\u2026`);
  let body = node.raw.body || {};
  if (node.kind === "action") {
    const { prev } = previousOf(node);
    const input = prev ? (await sampleOf(prev)).value : {};
    const passthrough = {};
    for (const e of earlier) passthrough[stepId(e)] = (await sampleOf(e)).value;
    const m = node.raw.mapping ? await api("POST", "/api/flows/preview", { expression: node.raw.mapping, input, passthrough, step: stepId(node) }) : { result: input };
    if (m.error) { setStatus(m.error.line, "bad"); return; }
    body = m.result;
  }
  const r = await api("POST", "/api/run", {
    component: node.raw.component, function: node.raw.function, cfg: node.raw.cfg || {}, body,
    credentialId: await credentialIdFor(ctx, node.raw.component, node.raw.credentials),
  });
  if (r.error) { setStatus(r.error.line, "bad"); return; }
  if (!r.messages.length) { setStatus(`${stepId(node)} emitted nothing`, "bad"); return; }
  node.sample = r.messages[0].body;
  setStatus(`sample from ${stepId(node)}: ${r.count} message(s)`, "ok");
}

// ------------------------------------------------------------------ save and run

function toDoc() {
  const { trig, order, loose } = chain();
  if (!trig) throw new Error("the flow has no trigger: drag one from the palette");
  if (loose.length) throw new Error(`not connected: ${loose.map(stepId).join(", ")} (connect every step into the chain)`);
  if (order.length < 2) throw new Error("the flow needs at least one step after the trigger");
  const doc = { ...S.doc, trigger: trig.raw, steps: order.slice(1).map((n) => n.raw) };
  const errorSteps = S.nodes.filter((n) => n.errorStep).map((n) => n.raw);
  if (errorSteps.length) doc.errorSteps = errorSteps;
  else delete doc.errorSteps;
  const positions = {};
  for (const n of [...order, ...S.nodes.filter((x) => x.errorStep)]) {
    if (n.placed) positions[stepId(n)] = { x: Math.round(n.x), y: Math.round(n.y) };
  }
  if (Object.keys(positions).length) doc.studio = { ...(S.doc.studio || {}), positions };
  else delete doc.studio;
  if (!doc.name) doc.name = "my-flow";
  return doc;
}

function showProblems(ctx, problems) {
  ctx.problems.replaceChildren(...(problems || []).map((p) => el("div.error-line", {}, p)));
}

async function save(ctx) {
  let doc;
  try { doc = toDoc(); } catch (e) { setStatus(e.message, "bad"); showProblems(ctx, [e.message]); return false; }
  S.path = ctx.pathInput.value;
  const r = await api("PUT", "/api/flows/file", { path: S.path, doc });
  S.doc = doc;
  showProblems(ctx, r.problems);
  setStatus(r.changed ? `saved ${r.path}` : `${r.path} unchanged`, r.problems.length ? "bad" : "ok");
  if (location.hash !== "#/flows/" + S.path) history.replaceState(null, "", "#/flows/" + S.path);
  return !r.problems.length;
}

async function runFlow(ctx) {
  if (!(await save(ctx))) return;
  try {
    await api("POST", "/api/flows/run", { path: S.path });
  } catch (e) { setStatus(e.message, "bad"); return; }
  setStatus("running " + S.path);
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = setInterval(() => refreshStatus(ctx, true), 700);
  refreshStatus(ctx, true);
}

async function refreshStatus(ctx, live) {
  let st;
  try { st = await api("GET", "/api/flows/status?path=" + encodeURIComponent(S.path)); } catch { return; }
  for (const box of ctx.board.querySelectorAll("[data-counts]")) {
    const c = (st.steps || {})[box.dataset.counts];
    box.replaceChildren(...(c ? [
      el("span.done", { title: "done" }, `\u2713 ${c.done}`), el("span.inflight", { title: "in flight" }, `\u00bb ${c.inflight}`),
      el("span.failed", { title: "failed" }, `\u2717 ${c.failed}`), el("span.doubt", { title: "in doubt" }, `? ${c.doubt}`)] : []));
  }
  renderRunPanel(ctx, st);
  if (live && !st.running && pollTimer) {
    clearInterval(pollTimer); pollTimer = null;
    setStatus(st.error ? st.error.line : "run finished", st.error ? "bad" : "ok");
  }
}

function renderRunPanel(ctx, st) {
  const rows = Object.entries(st.steps || {}).map(([id, c]) => el("tr", {}, el("td", {}, id), el("td", {}, c.done), el("td", {}, c.inflight), el("td", {}, c.failed), el("td", {}, c.doubt)));
  const failures = (st.failures || []).map((f) => el("li.failure", { dataset: { id: f.id } },
    el("code", {}, f.step), " ", el("span.kind", {}, f.status === "doubt" ? "in doubt" : f.status), " ",
    el("span.bad", {}, f.error || (f.status === "doubt" ? "the step may have acted when the run stopped: replay to run it again" : "")),
    " ", el("button.small.open-failure", { type: "button", onclick: async (e) => {
      const li = e.target.closest("li");
      const open = li.querySelector(".failure-detail");
      if (open) { open.remove(); return; }
      const d = await api("GET", `/api/flows/message?path=${encodeURIComponent(S.path)}&id=${encodeURIComponent(f.id)}`);
      li.append(el("div.failure-detail", {}, jsonTree(d, 2)));
    } }, "open"),
    " ", el("button.small.replay", { type: "button", onclick: async () => {
      const r = await api("POST", "/api/flows/replay", { path: S.path, id: f.id });
      setStatus(`replayed ${r.replayed} message(s)`, "ok");
      if (!pollTimer) pollTimer = setInterval(() => refreshStatus(ctx, true), 700);
    } }, "replay")));
  ctx.runPanel.replaceChildren(...[
    el("div.row", {}, el("b", {}, st.running ? "running\u2026" : "last run"), st.summary ? el("span.muted#run-summary", {}, st.summary) : null),
    st.error ? el("p.error-line", {}, st.error.line) : null,
    rows.length ? el("table#run-counts", {}, el("tr", {}, el("th", {}, "step"), el("th", {}, "done"), el("th", {}, "in flight"), el("th", {}, "failed"), el("th", {}, "in doubt")), rows) : null,
    failures.length ? el("div", {}, el("h3", {}, "Failed and in-doubt messages"), el("ul#failures", {}, failures)) : null].filter(Boolean));
}
