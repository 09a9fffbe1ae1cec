// Talking to the studio's API, and small DOM helpers shared by every view.

let csrf = null;

export async function session() {
  const res = await fetch("/api/session", { credentials: "same-origin" });
  if (!res.ok) throw new Error(await res.text());
  const data = await res.json();
  csrf = data.csrf;
  return data;
}

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") init.headers["X-Skiff-CSRF"] = csrf;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : { error: { line: await res.text() } };
  if (!res.ok) {
    const err = new Error((data.error && (data.error.line || data.error.message)) || res.statusText);
    err.detail = data.error;
    throw err;
  }
  return data;
}

// el("div.card#x", {onclick}, child, "text", ...)
export function el(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const node = document.createElement((m && m[1]) || "div");
  for (const part of ((m && m[2]) || "").match(/[.#][\w-]+/g) || []) {
    if (part[0] === ".") node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && k !== "list" && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function setStatus(text, kind) {
  const s = document.getElementById("status");
  s.textContent = text || "";
  s.className = "status" + (kind ? " " + kind : "");
}

// A JSON value as a collapsible tree (details/summary), open to the given depth.
export function jsonTree(value, depth = 2, key) {
  const label = key === undefined ? null : el("span.k", {}, key + ": ");
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const brief = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    const d = el("details.jt", { open: depth > 0 }, el("summary", {}, label, el("span.brief", {}, brief)));
    for (const [k, v] of entries) d.append(jsonTree(v, depth - 1, k));
    return d;
  }
  const cls = value === null ? "null" : typeof value;
  return el("div.jt-leaf", {}, label, el("span." + cls, {}, JSON.stringify(value)));
}
