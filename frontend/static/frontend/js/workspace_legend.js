// The workspace's map legend: a swatch for every colour and line style the basemap and the drone photo draw,
// built from the same styles maps.js draws with.
import { MAP_LEGEND } from "./maps.js";
import { el } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
// The worker paints heatmaps with matplotlib's "inferno" ramp (transparent where the model sees nothing).
const INFERNO = ["#420a68", "#bc3754", "#f98e09", "#fcffa4"];

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function lineSwatch(style) {
  const line = svg("line", {
    x1: 2, y1: 7, x2: 30, y2: 7, stroke: style.color, "stroke-width": style.weight, "stroke-dasharray": style.dashArray,
  });
  const fill = style.fillOpacity ? svg("rect", { x: 2, y: 2, width: 28, height: 10, fill: style.color, "fill-opacity": style.fillOpacity * 4 }) : "";
  return svg("svg", { width: 32, height: 14, "aria-hidden": "true" }, fill, line);
}

function dotSwatch(style) {
  return svg("svg", { width: 32, height: 14, "aria-hidden": "true" },
    svg("circle", { cx: 16, cy: 7, r: style.radius - 1, fill: style.fillColor, stroke: style.color, "stroke-width": 2 }));
}

function heatmapSwatch() {
  return svg("svg", { width: 32, height: 14, "aria-hidden": "true" },
    ...INFERNO.map((colour, i) => svg("rect", { x: 2 + i * 7, y: 2, width: 7, height: 10, fill: colour, "fill-opacity": 0.4 + i * 0.2 })));
}

function swatch(item) {
  if (item.heatmap) return heatmapSwatch();
  return item.dot ? dotSwatch(item.dot) : lineSwatch(item.line);
}

export function renderLegend(container) {
  container.replaceChildren(
    el("summary", {}, "Legend"),
    el("ul", {},
      ...MAP_LEGEND.map((item) => el("li", { dataset: { legend: item.key } }, swatch(item), ` ${item.text}`)),
      el("li", { dataset: { legend: "click" } }, el("span", { class: "legend-marker" }), " a click on the photo; ",
        el("span", { class: "legend-marker selected" }), " the selected one"),
      el("li", { dataset: { legend: "crosshair" } }, el("span", { class: "legend-crosshair" }), " the keyboard's crosshair"),
    ),
  );
}
