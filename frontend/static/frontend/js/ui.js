// Small DOM helpers shared by the pages: element building, messages, status badges, polling.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

export function toast(message, kind = "info", ms = 6000) {
  const box = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  document.getElementById("toasts").append(box);
  setTimeout(() => box.remove(), ms);
  return box;
}

export function badge(status) {
  return el("span", { class: `badge ${status}` }, status.replace("_", " "));
}

// Calls `step` every `ms` until it returns true (done) or the returned handle is stopped.
export function poll(step, ms = 1000) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    let done = false;
    try {
      done = await step();
    } catch (error) {
      console.warn("poll:", error.message);
    }
    if (!done && !stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return { stop: () => { stopped = true; clearTimeout(timer); } };
}

export function pageData() {
  return { ...document.body.dataset, ...(document.querySelector("main[data-mission]")?.dataset || {}) };
}

export function formatSeconds(s) {
  if (s === null || s === undefined) return "";
  if (s < 60) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// A stored time (ISO 8601) in the reader's locale; "" when there is none.
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

// "1 target", "3 targets": a count with its noun (plural: the noun + "s" unless given).
export function counted(n, noun, plural = `${noun}s`) {
  return `${n.toLocaleString("en")} ${n === 1 ? noun : plural}`;
}
