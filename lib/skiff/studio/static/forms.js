// Forms from component.json: one control per field by its viewClass, and the in-schema as a form.
import { el } from "./api.js";

const SAVED = "\u2022saved\u2022";

// One field of component.json. opts: {path, loadOptions: async () => ({value: label}) | null}
export function fieldControl(f, value, opts = {}) {
  const path = opts.path || f.name;
  const id = "f-" + path.replace(/[^\w]/g, "-");
  let control;
  const vc = f.viewClass;
  const v = value === undefined ? f.default : value;
  if (vc === "PasswordFieldView" || (f.secret && vc === "TextFieldView")) {
    const saved = v === SAVED;
    control = el("input", {
      type: "password", id, autocomplete: "new-password",
      placeholder: saved ? "saved (leave empty to keep)" : f.placeholder || "",
      value: saved ? "" : v ?? "",
    });
    control.dataset.saved = saved ? "1" : "";
  } else if (vc === "TextAreaView") {
    control = el("textarea", { id, rows: 4, placeholder: f.placeholder || "" }, v ?? "");
  } else if (vc === "CheckBoxView") {
    control = el("input", { type: "checkbox", id, checked: !!v });
  } else if (vc === "NumberFieldView") {
    control = el("input", { type: "number", id, value: v ?? "", placeholder: f.placeholder || "", step: "any" });
  } else if (vc === "SelectView" || vc === "MultiSelectView") {
    const select = el("select", { id, multiple: vc === "MultiSelectView" });
    control = select;
    const current = Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)];
    const fill = (options) => {
      const chosen = new Set([...current, ...[...select.selectedOptions].map((o) => o.value)]);
      select.replaceChildren();
      if (vc === "SelectView") select.append(el("option", { value: "" }, "\u2014"));
      const keys = new Set(Object.keys(options || {}));
      for (const [val, label] of Object.entries(options || {})) {
        select.append(el("option", { value: val, selected: chosen.has(val) }, label));
      }
      for (const val of chosen) if (val && !keys.has(val)) select.append(el("option", { value: val, selected: true }, val));
    };
    fill(f.options || {});
    if (f.model && opts.loadOptions) {
      const btn = el("button.small", { type: "button", title: "Load the options from the API (select model " + f.model + ")" }, "load options");
      const hint = el("span.hint");
      btn.addEventListener("click", async () => {
        hint.textContent = "loading\u2026";
        try {
          const r = await opts.loadOptions(f.name);
          if (r.error) { hint.textContent = r.error.line; hint.className = "hint bad"; return; }
          fill(r.options);
          hint.textContent = Object.keys(r.options).length + " options";
          hint.className = "hint";
        } catch (e) { hint.textContent = e.message; hint.className = "hint bad"; }
      });
      control = el("span.select-live", {}, control, btn, hint);
      control.dataset.select = "1";
    }
  } else if (vc === "CodeFieldView" || vc === "JSONataView" || vc === "JSONView") {
    const text = v === undefined || v === null ? "" : typeof v === "string" && vc === "JSONataView" ? v : JSON.stringify(v, null, 2);
    control = el("textarea.code", { id, rows: 4, spellcheck: false, placeholder: f.placeholder || "" }, text);
  } else {
    control = el("input", { type: "text", id, value: v ?? "", placeholder: f.placeholder || "" });
  }
  const box = el("div.field", { dataset: { path, field: f.name, view: vc } },
    el("label", { for: id }, f.label || f.name, f.required ? el("span.req", {}, " *") : null),
    control,
    f.note ? el("div.note", {}, f.note) : null,
    el("div.err"));
  return box;
}

function inputOf(box) {
  return box.querySelector("input, textarea, select");
}

// Values of the fields directly in `container` (a [data-field] per field). Throws {path, message}.
export function readFields(container) {
  const out = {};
  for (const box of container.querySelectorAll(":scope [data-field]")) {
    const name = box.dataset.field;
    const vc = box.dataset.view;
    const input = inputOf(box);
    if (!input) continue;
    if (vc === "CheckBoxView") { out[name] = input.checked; continue; }
    if (input.tagName === "SELECT" && input.multiple) {
      const vals = [...input.selectedOptions].map((o) => o.value);
      if (vals.length) out[name] = vals;
      continue;
    }
    const raw = input.value;
    if (vc === "PasswordFieldView" && raw === "" && input.dataset.saved === "1") { out[name] = SAVED; continue; }
    if (raw === "") continue;
    if (vc === "NumberFieldView") { out[name] = Number(raw); continue; }
    if (vc === "CodeFieldView" || vc === "JSONView") {
      try { out[name] = JSON.parse(raw); } catch (e) { throw { path: box.dataset.path, message: "not valid JSON: " + e.message }; }
      continue;
    }
    out[name] = raw;
  }
  return out;
}

// The in-schema as a form: scalars as inputs, arrays of scalars as comma lists, the rest as JSON.
export function schemaForm(schema, value, prefix = "body") {
  const root = el("div.schema-form", { dataset: { schema: prefix } });
  const props = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  const v = value || {};
  for (const [name, p] of Object.entries(props)) {
    const path = prefix + "." + name;
    const id = "s-" + path.replace(/[^\w]/g, "-");
    const type = Array.isArray(p.type) ? p.type.find((t) => t !== "null") : p.type;
    let control;
    let kind = type || "json";
    if (p.enum) {
      control = el("select", { id }, el("option", { value: "" }, "\u2014"),
        p.enum.map((e) => el("option", { value: JSON.stringify(e), selected: v[name] === e }, String(e))));
      kind = "enum";
    } else if (type === "boolean") {
      control = el("select", { id }, el("option", { value: "" }, "\u2014"),
        el("option", { value: "true", selected: v[name] === true }, "true"),
        el("option", { value: "false", selected: v[name] === false }, "false"));
    } else if (type === "integer" || type === "number") {
      control = el("input", { type: "number", id, step: type === "integer" ? "1" : "any", value: v[name] ?? "" });
    } else if (type === "string") {
      control = el("input", { type: "text", id, value: v[name] ?? "", placeholder: p.format || p.example || "" });
    } else if (type === "array" && p.items && ["string", "integer", "number"].includes(p.items.type)) {
      control = el("input", { type: "text", id, value: (v[name] || []).join(", "), placeholder: "comma-separated " + p.items.type + "s" });
      kind = "list:" + p.items.type;
    } else {
      control = el("textarea.code", { id, rows: 3, spellcheck: false, placeholder: "JSON" }, v[name] === undefined ? "" : JSON.stringify(v[name], null, 2));
      kind = "json";
    }
    root.append(el("div.field", { dataset: { path, prop: name, kind } },
      el("label", { for: id }, p.title || name, required.has(name) ? el("span.req", {}, " *") : null, el("span.type", {}, " " + (type || "any"))),
      control,
      p.description ? el("div.note", {}, p.description) : null,
      el("div.err")));
  }
  if (!Object.keys(props).length) {
    root.append(el("div.field", { dataset: { path: prefix, prop: "", kind: "json" } },
      el("label", {}, "Message body (JSON)"),
      el("textarea.code", { rows: 4, spellcheck: false }, value && Object.keys(value).length ? JSON.stringify(value, null, 2) : "{}"),
      el("div.err")));
  }
  return root;
}

export function readSchemaForm(root) {
  const out = {};
  for (const box of root.querySelectorAll("[data-prop]")) {
    const input = inputOf(box);
    const raw = input.value.trim();
    const kind = box.dataset.kind;
    const name = box.dataset.prop;
    if (raw === "") continue;
    let val;
    try {
      if (kind === "enum") val = JSON.parse(raw);
      else if (kind === "boolean") val = raw === "true";
      else if (kind === "integer" || kind === "number") val = Number(raw);
      else if (kind === "string") val = raw;
      else if (kind.startsWith("list:")) {
        const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
        val = kind === "list:string" ? items : items.map(Number);
      } else val = JSON.parse(raw);
    } catch (e) {
      throw { path: box.dataset.path, message: "not valid JSON: " + e.message };
    }
    if (name === "") return val;
    out[name] = val;
  }
  return out;
}

// Show an error at the field it names (cfg.apiKey, body.items[2].price), or in `fallback`.
export function clearErrors(root) {
  for (const e of root.querySelectorAll(".field .err")) e.textContent = "";
  for (const e of root.querySelectorAll(".field.bad")) e.classList.remove("bad");
}

export function showFieldError(roots, path, message) {
  if (!path) return false;
  // The most specific field whose path is a prefix of the named one.
  let best = null;
  for (const root of roots) {
    for (const box of root.querySelectorAll(".field[data-path]")) {
      const p = box.dataset.path;
      if (path === p || path.startsWith(p + ".") || path.startsWith(p + "[")) {
        if (!best || p.length > best.dataset.path.length) best = box;
      }
    }
  }
  if (!best) return false;
  best.classList.add("bad");
  best.querySelector(".err").textContent = message;
  best.scrollIntoView({ block: "nearest" });
  return true;
}
