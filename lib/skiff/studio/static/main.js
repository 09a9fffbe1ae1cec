// The studio's page: routing between the catalogue, a component (credentials + try it), and flows.
import { api, el, jsonTree, session, setStatus } from "./api.js";
import { clearErrors, fieldControl, readFields, readSchemaForm, schemaForm, showFieldError } from "./forms.js";
import { flowsView } from "./canvas.js";

const view = document.getElementById("view");
let sandboxNames = [];

async function route() {
  const parts = (location.hash.replace(/^#\/?/, "") || "catalogue").split("/").map(decodeURIComponent);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.tab === (parts[0] === "component" ? "catalogue" : parts[0]));
  setStatus("");
  try {
    if (parts[0] === "component") await componentView(parts[1], parts[2]);
    else if (parts[0] === "credentials") await credentialsView();
    else if (parts[0] === "flows") await flowsView(view, parts.slice(1).join("/"));
    else await catalogueView();
  } catch (e) {
    view.replaceChildren(el("p.error-line", {}, e.message));
  }
}

// ------------------------------------------------------------------ catalogue

async function catalogueView() {
  const search = el("input#search", { type: "search", placeholder: "Search components, actions, triggers\u2026", autofocus: true });
  const grid = el("div.cards");
  view.replaceChildren(el("div.catalogue", {}, el("h1", {}, "Components"), search, grid));
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const list = await api("GET", "/api/components?q=" + encodeURIComponent(search.value));
    if (mine !== seq) return;
    grid.replaceChildren(...list.map(card));
    if (!list.length) grid.append(el("p.muted", {}, "Nothing matches \u201c" + search.value + "\u201d."));
  };
  search.addEventListener("input", load);
  await load();
}

function logo(c, size = 48) {
  if (c.logo) return el("img.logo", { src: `/api/components/${encodeURIComponent(c.name)}/logo`, alt: "", width: size, height: size });
  return el("span.logo.mono", { style: `width:${size}px;height:${size}px` }, (c.title || c.name).slice(0, 2).toUpperCase());
}

function card(c) {
  const fns = [...c.actions.map((a) => ["action", a]), ...c.triggers.map((t) => ["trigger", t])];
  return el("a.card", { href: "#/component/" + encodeURIComponent(c.name), dataset: { component: c.name } },
    el("div.card-head", {}, logo(c), el("div", {}, el("h2", {}, c.title), el("code.muted", {}, c.name))),
    c.error ? el("p.error-line", {}, c.error) : el("p.desc", {}, c.description),
    el("p.counts", {}, `${c.actions.length} actions \u00b7 ${c.triggers.length} triggers`),
    el("ul.fn-preview", {}, fns.slice(0, 4).map(([k, f]) => el("li", {}, el("span.kind." + k, {}, k), " ", f.title))));
}

// ------------------------------------------------------------------ one component

async function componentView(name, fnName) {
  const [comp, saved, boxes] = await Promise.all([
    api("GET", "/api/components/" + encodeURIComponent(name)),
    api("GET", "/api/credentials"),
    api("GET", "/api/sandboxes"),
  ]);
  sandboxNames = boxes.map((b) => b.name);
  const mine = saved.filter((s) => s.component === name);
  const state = { cid: mine.length ? mine[0].id : "", cfg: mine.length ? mine[0].cfg : {} };

  const credBox = el("form.cred-fields", { autocomplete: "off", onsubmit: (e) => e.preventDefault() });
  const credName = el("input#cred-name", { type: "text", placeholder: "a name for these credentials", value: mine.length ? mine[0].name : "" });
  const pick = el("select#cred-pick", {}, el("option", { value: "" }, "(new credentials)"),
    mine.map((s) => el("option", { value: s.id, selected: s.id === state.cid }, s.name)));
  const credResult = el("div.result-line#cred-result");
  const renderCreds = () => {
    credBox.replaceChildren(...comp.credentials.fields.map((f) => fieldControl(f, state.cfg[f.name], {
      path: "cfg." + f.name,
      loadOptions: (field) => api("POST", "/api/select", { component: name, function: null, field, cfg: safeRead(credBox), credentialId: state.cid }),
    })));
  };
  pick.addEventListener("change", () => {
    const s = mine.find((x) => x.id === pick.value);
    state.cid = s ? s.id : "";
    state.cfg = s ? s.cfg : {};
    credName.value = s ? s.name : "";
    renderCreds();
  });
  renderCreds();

  const sandboxBtn = sandboxNames.includes(name)
    ? el("button#start-sandbox", { type: "button", onclick: async () => {
        setStatus("starting the " + name + " sandbox\u2026");
        const sb = await api("POST", "/api/sandboxes/" + encodeURIComponent(name));
        state.cfg = { ...state.cfg, ...sb.cfg };
        if (!credName.value) credName.value = name + " sandbox";
        renderCreds();
        setStatus(name + " sandbox on " + sb.url, "ok");
      } }, "Start sandbox and fill in")
    : null;

  const verifyBtn = el("button#verify", { type: "button", onclick: async () => {
    clearErrors(credBox);
    credResult.replaceChildren("checking\u2026");
    let cfg;
    try { cfg = readFields(credBox); } catch (e) { showFieldError([credBox], e.path, e.message); credResult.replaceChildren(); return; }
    const r = await api("POST", "/api/verify", { component: name, cfg, credentialId: state.cid });
    if (r.verified) credResult.replaceChildren(el("span.ok", {}, "\u2713 verified"));
    else {
      const line = r.error ? r.error.line : "not verified: " + (r.reason || "");
      credResult.replaceChildren(el("span.bad", {}, "\u2717 " + line));
      if (r.error) showFieldError([credBox], r.error.field, r.error.message);
    }
    credResult.append(requestLog(r.log));
  } }, "Verify");

  const saveBtn = el("button#save-cred", { type: "button", onclick: async () => {
    clearErrors(credBox);
    let cfg;
    try { cfg = readFields(credBox); } catch (e) { showFieldError([credBox], e.path, e.message); return; }
    const r = await api("POST", "/api/credentials", { id: state.cid || null, name: credName.value, component: name, cfg });
    setStatus("credentials saved (encrypted)", "ok");
    const list = (await api("GET", "/api/credentials")).filter((s) => s.component === name);
    mine.splice(0, mine.length, ...list);
    state.cid = r.id;
    state.cfg = list.find((s) => s.id === r.id).cfg;
    pick.replaceChildren(el("option", { value: "" }, "(new credentials)"), list.map((s) => el("option", { value: s.id, selected: s.id === r.id }, s.name)));
    renderCreds();
  } }, "Save");

  const filter = el("input#fn-filter", { type: "search", placeholder: "Filter actions and triggers" });
  const fnList = el("ul.fn-list");
  const renderList = () => {
    const q = filter.value.toLowerCase();
    const items = [...comp.triggers.map((t) => ["trigger", t]), ...comp.actions.map((a) => ["action", a])]
      .filter(([, f]) => !q || (f.name + " " + f.title).toLowerCase().includes(q));
    fnList.replaceChildren(...items.map(([k, f]) => el("li", {},
      el("a", { href: `#/component/${encodeURIComponent(name)}/${encodeURIComponent(f.name)}`, class: f.name === fnName ? "active" : "", dataset: { fn: f.name } },
        el("span.kind." + k, {}, k), " ", el("b", {}, f.title), " ", el("code.muted", {}, f.name)))));
  };
  filter.addEventListener("input", renderList);
  renderList();

  const fnPane = el("section.fn-pane");
  view.replaceChildren(el("div.component", {},
    el("div.comp-head", {}, logo(comp, 56), el("div", {}, el("h1", {}, comp.title), el("p.desc", {}, comp.description))),
    el("div.columns", {},
      el("section.creds", {}, el("h2", {}, "Credentials"),
        el("div.row", {}, pick, sandboxBtn), credBox,
        el("div.field", {}, el("label", { for: "cred-name" }, "Save as"), credName),
        el("div.row", {}, saveBtn, comp.credentials.verify ? verifyBtn : null), credResult),
      el("section.fns", {}, el("h2", {}, "Actions and triggers"), filter, fnList)),
    fnPane));

  if (fnName) await functionPane(fnPane, name, fnName, () => ({ cid: state.cid, cfg: safeRead(credBox) }), credBox);
}

function safeRead(box) {
  try { return readFields(box); } catch { return {}; }
}

function requestLog(lines) {
  if (!lines || !lines.length) return el("span");
  return el("details.reqlog", {}, el("summary", {}, `request log (${lines.length})`), el("pre", {}, lines.join("\n")));
}

async function functionPane(pane, comp, fnName, creds, credBox) {
  const fn = await api("GET", `/api/components/${encodeURIComponent(comp)}/functions/${encodeURIComponent(fnName)}`);
  const fieldsBox = el("div.fn-fields", {}, fn.fields.map((f) => fieldControl(f, undefined, {
    path: "cfg." + f.name,
    loadOptions: (field) => api("POST", "/api/select", { component: comp, function: fnName, field, cfg: { ...creds().cfg, ...safeRead(fieldsBox) }, credentialId: creds().cid }),
  })));
  let inForm = schemaForm(fn.in || {}, {});
  const rawToggle = el("input#raw-json", { type: "checkbox" });
  const rawBox = el("textarea.code#raw-body", { rows: 8, spellcheck: false, hidden: true }, "{}");
  rawToggle.addEventListener("change", () => {
    if (rawToggle.checked) {
      try { rawBox.value = JSON.stringify(readSchemaForm(inForm), null, 2); } catch { /* keep the text */ }
    } else {
      try { const body = JSON.parse(rawBox.value); const fresh = schemaForm(fn.in || {}, body); inForm.replaceWith(fresh); inForm = fresh; } catch { /* keep the form */ }
    }
    rawBox.hidden = !rawToggle.checked;
    inForm.hidden = rawToggle.checked;
  });
  let lastSnapshot = null;
  const fromSnap = el("input#from-snapshot", { type: "checkbox", disabled: true });
  const results = el("div.results#results");
  const runBtn = el("button.primary#run", { type: "button", onclick: async () => {
    clearErrors(pane); clearErrors(credBox);
    let cfg, body;
    try {
      cfg = { ...creds().cfg, ...readFields(fieldsBox) };
      body = rawToggle.checked ? JSON.parse(rawBox.value || "{}") : readSchemaForm(inForm);
    } catch (e) {
      if (e.path) showFieldError([pane, credBox], e.path, e.message);
      results.replaceChildren(el("p.error-line", {}, e.message));
      return;
    }
    results.replaceChildren(el("p.muted", {}, "running\u2026"));
    runBtn.disabled = true;
    try {
      const r = await api("POST", "/api/run", { component: comp, function: fnName, cfg, body, credentialId: creds().cid, snapshot: fromSnap.checked ? lastSnapshot : null });
      if (fn.kind === "trigger") { lastSnapshot = r.snapshot; fromSnap.disabled = false; }
      showResults(results, r, [pane, credBox]);
    } catch (e) {
      results.replaceChildren(el("p.error-line", {}, e.message));
    } finally {
      runBtn.disabled = false;
    }
  } }, fn.kind === "trigger" ? "Poll once" : "Run");
  pane.replaceChildren(...[
    el("h2", {}, el("span.kind." + fn.kind, {}, fn.kind), " ", fn.title, " ", el("code.muted", {}, fn.name)),
    fn.description ? el("p.desc", {}, fn.description) : null,
    fn.fields.length ? el("h3", {}, "Settings") : null, fieldsBox,
    el("h3", {}, fn.kind === "trigger" ? "Trigger input" : "Input message", el("label.inline", {}, rawToggle, " edit as JSON")),
    inForm, rawBox,
    el("div.row", {}, runBtn, fn.kind === "trigger" ? el("label.inline", {}, fromSnap, " poll again from the last snapshot") : null),
    results].filter(Boolean));
}

function showResults(box, r, roots) {
  const head = el("p.summary", {}, `${r.count} message${r.count === 1 ? "" : "s"} in ${r.elapsed_ms} ms`, r.truncated ? ` (first ${r.messages.length} shown)` : "");
  const parts = [head];
  if (r.error) {
    parts.push(el("p.error-line#run-error", {}, r.error.line));
    showFieldError(roots, r.error.field, r.error.message);
  }
  const list = el("ol.messages");
  for (const m of r.messages) {
    const atts = Object.entries(m.attachments || {}).filter(([, a]) => a.download);
    list.append(el("li.message", {},
      atts.length ? el("div.atts", {}, atts.map(([n, a]) => el("a.download", { href: a.download, download: n }, `\u2913 ${n} (${a["content-type"]}, ${a.size} bytes)`))) : null,
      jsonTree(m.body, 1)));
  }
  parts.push(list, requestLog(r.log));
  if (r.snapshot && Object.keys(r.snapshot).length) parts.push(el("details", {}, el("summary", {}, "snapshot"), jsonTree(r.snapshot, 2)));
  box.replaceChildren(...parts);
}

// ------------------------------------------------------------------ credentials

async function credentialsView() {
  const list = await api("GET", "/api/credentials");
  const rows = list.map((s) => el("tr", {},
    el("td", {}, s.name), el("td", {}, el("a", { href: "#/component/" + encodeURIComponent(s.component) }, s.component)),
    el("td", {}, el("code", {}, JSON.stringify(s.cfg))),
    el("td", {}, el("button.small", { type: "button", onclick: async () => { await api("DELETE", "/api/credentials/" + s.id); route(); } }, "delete"))));
  view.replaceChildren(el("div.credentials", {}, el("h1", {}, "Saved credentials"),
    el("p.muted", {}, "Encrypted on this machine. Secrets are never sent back to the browser."),
    rows.length ? el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "component"), el("th", {}, "values"), el("th")), rows)
      : el("p", {}, "None yet: open a component, fill in its credentials and save them.")));
}

// ------------------------------------------------------------------ start

window.addEventListener("hashchange", route);
session().then(route, (e) => {
  view.replaceChildren(el("div.signin", {}, el("h1", {}, "Not signed in"), el("p", {}, e.message)));
});
