// A small overview map under the bounds field: no tiles (nothing outside this network can be reached), only a
// graticule every 10°, the outlines of the mission's basemaps (grey), its drone GPS points (orange) and the typed
// bounds (blue; red when something looks wrong), so a basemap on the wrong continent shows before it is uploaded.
import { lonlatBounds } from "./maps.js";
import { el } from "./ui.js";

const TYPED = { color: "#1f6feb", weight: 2, fillOpacity: 0.15, className: "typed-bounds" };
const DOUBTFUL = { color: "#f04438", weight: 2, fillOpacity: 0.15, className: "typed-bounds doubtful" };
const EXISTING = { color: "#667085", weight: 1, dashArray: "4 4", fill: false, className: "basemap-outline" };
const GRID = { color: "#98a2b3", weight: 0.5, interactive: false };
const POINT = { radius: 4, color: "#f79009", fillColor: "#f79009", fillOpacity: 0.9, weight: 1, className: "gps-point" };

function graticule() {
  const lines = [];
  for (let lon = -180; lon <= 180; lon += 10) lines.push(L.polyline([[-85, lon], [85, lon]], GRID));
  for (let lat = -80; lat <= 80; lat += 10) lines.push(L.polyline([[lat, -180], [lat, 180]], GRID));
  return L.layerGroup(lines);
}

export function boundsOverview(container) {
  const map = L.map(container, { minZoom: 1, maxZoom: 18, attributionControl: false, worldCopyJump: false });
  graticule().addTo(map);
  const layers = L.layerGroup().addTo(map);
  map.setView([20, 0], 1);
  return {
    map,
    // typed: [w, s, e, n] or null; basemaps: [{ name, bounds }]; points: [{ lat, lon, name }]
    show({ typed, doubtful, basemaps, points }) {
      layers.clearLayers();
      const extent = [];
      for (const basemap of basemaps.filter((b) => b.bounds)) {
        const outline = L.rectangle(lonlatBounds(basemap.bounds), EXISTING).addTo(layers);
        outline.bindTooltip(el("span", {}, basemap.name));
        extent.push(outline.getBounds());
      }
      for (const point of points) {
        L.circleMarker([point.lat, point.lon], POINT).bindTooltip(el("span", {}, point.name)).addTo(layers);
        extent.push(L.latLngBounds([point.lat, point.lon], [point.lat, point.lon]));
      }
      if (typed) {
        const box = L.rectangle(lonlatBounds(typed), doubtful ? DOUBTFUL : TYPED).addTo(layers);
        box.bindTooltip(el("span", {}, "the bounds you typed"));
        extent.push(box.getBounds());
      }
      map.invalidateSize();
      if (!extent.length) return;
      const whole = L.latLngBounds(extent[0].getSouthWest(), extent[0].getNorthEast());
      for (const part of extent) whole.extend(part);
      map.fitBounds(whole, { padding: [12, 12], maxZoom: 14 });
    },
  };
}
