// A small SVG line chart: one polyline per series, axes with "nice" ticks, axis labels and a legend. No library.
//
//   lineChart([{ name: "loss", points: [[step, value], ...] }], { xLabel: "step", yLabel: "loss" })
//
// returns an <svg class="plot"> that scales to its container's width (viewBox). Points whose x or y is not a
// finite number are left out; a series with no points left gets no polyline (and no legend entry). A point may carry
// a third element, its tooltip ([x, y, "what this point is"]); a series may carry a `title`, its line's tooltip
// (default: its name).

const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f6feb", "#f79009", "#12b76a", "#7a5af8", "#f04438", "#0e9384", "#667085"];
const MARGIN = { left: 52, right: 14, top: 26, bottom: 36 };
const MARKERS_UP_TO = 40; // series this short also get a dot per point (an epoch's val entry stands out)

function node(tag, attrs = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) element.setAttribute(key, value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

// About `count` ticks at 1, 2 or 5 times a power of ten, covering [low, high].
export function niceTicks(low, high, count = 5) {
  if (!(high > low)) return [low];
  const raw = (high - low) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let tick = Math.ceil(low / step - 1e-9) * step; tick <= high + step * 1e-9; tick += step) {
    ticks.push(Number(tick.toPrecision(12)));
  }
  return ticks;
}

function format(value, ticks) {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(value) || 1;
  if (Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3)) return value.toExponential(1);
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step))));
  return value.toFixed(decimals);
}

function domain(values, fixed, pad) {
  let [low, high] = fixed || [Math.min(...values), Math.max(...values)];
  if (!fixed && pad) {
    const margin = (high - low) * pad;
    [low, high] = [low - margin, high + margin];
  }
  if (!(high > low)) [low, high] = [low - (Math.abs(low) || 1) * 0.5, high + (Math.abs(high) || 1) * 0.5];
  return [low, high];
}

function cleaned(series) {
  return series
    .map((s, i) => ({
      name: s.name,
      title: s.title || s.name,
      color: s.color || COLORS[i % COLORS.length],
      points: (s.points || []).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
    }))
    .filter((s) => s.points.length > 0);
}

export function lineChart(series, { xLabel = "", yLabel = "", title = "", width = 560, height = 240, yDomain } = {}) {
  const drawn = cleaned(series);
  const chart = node("svg", {
    class: "plot", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title || yLabel || "chart",
    preserveAspectRatio: "xMidYMid meet",
  });
  if (!drawn.length) {
    chart.append(node("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "plot-empty" },
      "no data yet"));
    return chart;
  }
  const xs = drawn.flatMap((s) => s.points.map(([x]) => x));
  const ys = drawn.flatMap((s) => s.points.map(([, y]) => y));
  const inner = { w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const [x0, x1] = domain(xs);
  let [y0, y1] = domain(ys, yDomain, 0.05);
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.round(inner.w / 90)));
  const yTicks = niceTicks(y0, y1, Math.max(2, Math.round(inner.h / 40)));
  if (!yDomain) [y0, y1] = [Math.min(y0, yTicks[0]), Math.max(y1, yTicks[yTicks.length - 1])];
  const px = (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * inner.w;
  const py = (y) => MARGIN.top + inner.h - ((y - y0) / (y1 - y0)) * inner.h;
  const bottom = MARGIN.top + inner.h;

  chart.append(
    node("g", { class: "plot-grid" },
      yTicks.map((t) => node("line", { x1: MARGIN.left, x2: MARGIN.left + inner.w, y1: py(t), y2: py(t) }))),
    node("g", { class: "plot-axis" },
      node("line", { x1: MARGIN.left, x2: MARGIN.left + inner.w, y1: bottom, y2: bottom }),
      node("line", { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: bottom }),
      xTicks.map((t) => node("g", { class: "plot-tick x" },
        node("line", { x1: px(t), x2: px(t), y1: bottom, y2: bottom + 4 }),
        node("text", { x: px(t), y: bottom + 15, "text-anchor": "middle" }, format(t, xTicks)))),
      yTicks.map((t) => node("g", { class: "plot-tick y" },
        node("line", { x1: MARGIN.left - 4, x2: MARGIN.left, y1: py(t), y2: py(t) }),
        node("text", { x: MARGIN.left - 7, y: py(t) + 4, "text-anchor": "end" }, format(t, yTicks)))),
      node("text", { x: MARGIN.left + inner.w / 2, y: height - 4, "text-anchor": "middle", class: "plot-label" },
        xLabel),
      node("text", {
        x: 12, y: MARGIN.top + inner.h / 2, "text-anchor": "middle", class: "plot-label",
        transform: `rotate(-90 12 ${MARGIN.top + inner.h / 2})`,
      }, yLabel)),
  );
  for (const s of drawn) {
    const points = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    const group = node("g", { class: "plot-series", "data-series": s.name },
      node("polyline", { points, fill: "none", stroke: s.color, "stroke-width": 1.8, "stroke-linejoin": "round" },
        node("title", {}, s.title)));
    if (s.points.length <= MARKERS_UP_TO) {
      group.append(...s.points.map(([x, y, tip]) => node("circle", { cx: px(x), cy: py(y), r: 2.6, fill: s.color },
        tip ? node("title", {}, tip) : null)));
    }
    chart.append(group);
  }
  chart.append(legend(drawn, MARGIN.left, width - MARGIN.right));
  return chart;
}

// Swatches and names in one row above the plot area, from the left.
function legend(series, left, right) {
  const group = node("g", { class: "plot-legend" });
  let x = left;
  for (const s of series) {
    const label = String(s.name);
    group.append(
      node("rect", { x, y: 8, width: 14, height: 4, fill: s.color, rx: 1 }),
      node("text", { x: x + 18, y: 14 }, label),
    );
    x += 30 + label.length * 6.5;
    if (x > right) break;
  }
  return group;
}
