// Small screens: below 1100 px the workspace's and the review queue's two panes (drone image, basemap) become tabs,
// one shown at a time, and the workspace's side column (targets, uploads) a drawer that a button opens. Above it the
// tab bar and the drawer button are hidden by app.css and the three columns stand side by side as before.
// Loaded on every page by base.html; the tabs and the drawer only where there is a `.workspace`.

const DRAWERS = { workspace: "Targets & uploads" };  // the review page keeps its decisions below the panes

function button(text, attributes) {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

// Leaflet listens to the window's resize and then measures its container again (invalidateSize): a pane that has
// just been shown, or a drawer that just moved, is measured anew that way without reaching into the pages' maps.
const remeasureMaps = () => window.dispatchEvent(new Event("resize"));

function showTab(tabs, panes, index) {
  tabs.forEach((tab, i) => {
    tab.setAttribute("aria-selected", String(i === index));
    tab.tabIndex = i === index ? 0 : -1;
    panes[i].classList.toggle("tab-hidden", i !== index);
  });
  remeasureMaps();
}

function tabBar(panes) {
  const list = document.createElement("div");
  list.className = "pane-tabs";
  list.setAttribute("role", "tablist");
  list.setAttribute("aria-label", "Shown pane");
  const tabs = panes.map((pane, i) => {
    pane.id ||= `layout-pane-${i}`;
    const title = pane.querySelector("h2")?.textContent.trim() || `Pane ${i + 1}`;
    const tab = button(title, { role: "tab", id: `layout-tab-${i}`, "aria-controls": pane.id });
    pane.setAttribute("role", "tabpanel");
    pane.setAttribute("aria-labelledby", tab.id);
    return tab;
  });
  tabs.forEach((tab, i) => tab.addEventListener("click", () => showTab(tabs, panes, i)));
  list.addEventListener("keydown", (event) => {  // the arrows step between the tabs, as in any tab bar
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    event.stopPropagation();  // not the workspace's previous / next drone photo
    const next = (tabs.indexOf(document.activeElement) + step + tabs.length) % tabs.length;
    showTab(tabs, panes, next);
    tabs[next].focus();
  });
  list.append(...tabs);
  showTab(tabs, panes, 0);
  return list;
}

function drawer(root, side, label) {
  side.id ||= "layout-drawer";
  side.classList.add("drawer");
  const toggle = button(label, { class: "drawer-toggle", "aria-controls": side.id, "aria-expanded": "false" });
  const close = button("Close", { class: "drawer-close", "aria-label": `Close ${label.toLowerCase()}` });
  const setOpen = (open) => {
    root.classList.toggle("drawer-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    (open ? close : toggle).focus();
    remeasureMaps();
  };
  toggle.addEventListener("click", () => setOpen(!root.classList.contains("drawer-open")));
  close.addEventListener("click", () => setOpen(false));
  side.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !root.classList.contains("drawer-open")) return;
    event.preventDefault();
    setOpen(false);
  });
  side.prepend(close);
  return toggle;
}

export function setUpLayout(root) {
  const panes = [...root.querySelectorAll(":scope > section.pane")];
  const side = root.querySelector(":scope > aside.side");
  if (panes.length < 2) return;
  const bar = document.createElement("div");
  bar.className = "layout-bar";
  bar.append(tabBar(panes));
  const label = DRAWERS[root.id];
  if (side && label) bar.append(drawer(root, side, label));
  root.before(bar);
}

// A table wider than its card scrolls sideways inside a wrapper of its own, so the card's heading and forms stay
// put (tables a page adds later scroll with their whole card instead: app.css).
export function scrollTablesSideways(scope) {
  for (const table of scope.querySelectorAll(".card table")) {
    if (table.parentElement.classList.contains("table-scroll")) continue;
    const wrapper = document.createElement("div");
    wrapper.className = "table-scroll";
    table.before(wrapper);
    wrapper.append(table);
  }
}

scrollTablesSideways(document.querySelector("main"));
const root = document.querySelector("main .workspace");
if (root) setUpLayout(root);
