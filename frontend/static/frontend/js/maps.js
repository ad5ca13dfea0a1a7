// The two panes every page shares: the drone photo (pixels, Leaflet's CRS.Simple) and the georeferenced basemap
// (Web-Mercator XYZ tiles) with the model's answer drawn on it: box, top-K candidates, heatmap, drone position.

import { el } from "./ui.js";

// A tooltip's content as text: Leaflet renders a string tooltip as HTML, and names (a photo's file name) are users'.
const text = (value) => el("span", {}, String(value));

const BOX = { color: "#1f6feb", weight: 3, fill: false, className: "box-predicted" };
const LABEL = { color: "#12b76a", weight: 3, fill: false, className: "box-reviewed" };
// The model's box once a reviewer decided (corrected or rejected): kept for comparison, thin and dashed.
const SECONDARY = { color: "#1f6feb", weight: 1.5, dashArray: "5 4", fill: false, className: "box-secondary" };
const CANDIDATE = { color: "#7a5af8", weight: 2, dashArray: "6 5", fill: false };
const WINDOW = { color: "#f79009", weight: 2, dashArray: "2 6", fillOpacity: 0.04 };
const DRONE = { radius: 6, color: "#101828", fillColor: "#f79009", fillOpacity: 1 };
const HEADING = { color: "#101828", weight: 2, dashArray: "4 4" };

// Every colour and line style the basemap draws, for the legend (one source: the styles above).
export const MAP_LEGEND = [
  { key: "predicted", text: "predicted box (score in its tooltip)", line: BOX },
  { key: "reviewed", text: "reviewed box (approved or corrected)", line: LABEL },
  { key: "secondary", text: "the model's box after a review (thin, dashed)", line: SECONDARY },
  { key: "candidates", text: "top-K candidates (numbered)", line: CANDIDATE },
  { key: "window", text: "search window", line: WINDOW },
  { key: "drone", text: "drone position (EXIF GPS)", dot: DRONE },
  { key: "heading", text: "heading: where the camera looked", line: HEADING },
  { key: "heatmap", text: "heatmap: warmer = more likely", heatmap: true },
];

// [west, south, east, north] -> Leaflet bounds
export const lonlatBounds = ([w, s, e, n]) => L.latLngBounds([s, w], [n, e]);
// A GeoJSON Polygon (lon/lat) as one Leaflet polygon (a GeoJSON group keeps permanent tooltips after removal).
export const polygon = (geojson, style) => L.polygon(geojson.coordinates[0].map(([lon, lat]) => [lat, lon]), style);
export const boundsToList = (b) => [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];

// `keyboard: false` leaves the arrow keys to the page (the workspace's crosshair) instead of Leaflet's panning.
export function droneView(container, { keyboard = true } = {}) {
  const map = L.map(container, { crs: L.CRS.Simple, minZoom: -6, maxZoom: 4, zoomSnap: 0.25, attributionControl: false, keyboard });
  const clicks = L.layerGroup().addTo(map);
  const crosshairIcon = L.divIcon({ className: "", html: '<div class="crosshair"></div>' });
  let crosshair = null;
  let overlay = null;
  let image = null;
  return {
    map,
    get image() { return image; },
    // The keyboard's pointer on the photo, at pixel (x, y); null hides it.
    showCrosshair(point) {
      if (crosshair) crosshair.remove();
      crosshair = null;
      if (!point) return;
      crosshair = L.marker([-point.y, point.x], { icon: crosshairIcon, keyboard: false, interactive: false }).addTo(map);
      if (!map.getBounds().contains(crosshair.getLatLng())) map.panTo(crosshair.getLatLng());
    },
    show(next) {
      if (image && image.id === next.id) return;
      image = next;
      if (overlay) overlay.remove();
      const bounds = L.latLngBounds([-next.height, 0], [0, next.width]);
      overlay = L.imageOverlay(next.file_url, bounds, { alt: next.original_name }).addTo(map);
      map.setMaxBounds(bounds.pad(0.25));
      map.fitBounds(bounds);
    },
    // Leaflet position -> drone-image pixels (x right, y down)
    toPixel: (latlng) => ({ x: latlng.lng, y: -latlng.lat }),
    // the clicks of the shown image: {x, y, id, status, selected}
    showClicks(items, onPick) {
      clicks.clearLayers();
      for (const item of items) {
        const icon = L.divIcon({ className: "", html: `<div class="click-marker${item.selected ? " selected" : ""}"></div>` });
        L.marker([-item.y, item.x], { icon, title: `target ${item.id}`, keyboard: false })  // not in the Tab order
          .bindTooltip(text(`#${item.id} ${item.status}`), { direction: "top", offset: [0, -8], permanent: item.selected })
          .on("click", () => onPick && onPick(item.id))
          .addTo(clicks);
      }
    },
  };
}

export function basemapView(container) {
  const map = L.map(container, { zoomSnap: 0.5, attributionControl: false });
  const layers = {
    heatmap: L.layerGroup().addTo(map),
    window: L.layerGroup().addTo(map),
    drone: L.layerGroup().addTo(map),
    candidates: L.layerGroup().addTo(map),
    box: L.layerGroup().addTo(map),
  };
  let tiles = null;
  let basemap = null;
  return {
    map,
    layers,
    get basemap() { return basemap; },
    show(next) {
      if (basemap && basemap.id === next.id && tiles) return;
      basemap = next;
      if (tiles) tiles.remove();
      const bounds = lonlatBounds(next.bounds);
      tiles = L.tileLayer(next.tile_url_template, {
        bounds, minZoom: Math.max(0, (next.min_zoom ?? 10) - 3), maxNativeZoom: next.max_zoom, maxZoom: (next.max_zoom ?? 18) + 3,
      }).addTo(map);
      map.fitBounds(bounds);
    },
    clear() {
      for (const group of Object.values(layers)) group.clearLayers();
    },
    // The model's answer (and the reviewed label when there is one); returns the main box layer. With `reviewed`
    // (the review's final box) that box is the main one and the prediction is drawn thin and dashed beside it;
    // with `rejected` only the thin dashed prediction is left.
    showPrediction(prediction, { heatmap = true, candidates = true, label = null, reviewed = null, rejected = false } = {}) {
      for (const name of ["heatmap", "candidates", "box"]) layers[name].clearLayers();
      if (!prediction) return null;
      if (heatmap && prediction.heatmap_url && prediction.heatmap_bounds) {
        L.imageOverlay(prediction.heatmap_url, lonlatBounds(prediction.heatmap_bounds), { opacity: 0.5, className: "heatmap" })
          .addTo(layers.heatmap);
      }
      if (candidates) {
        (prediction.candidates || []).forEach((candidate, index) => {
          if (!candidate.box_geojson) return;
          polygon(candidate.box_geojson, CANDIDATE)
            .bindTooltip(text(`${index + 1}`), { permanent: true, direction: "top", className: "candidate-label" })
            .addTo(layers.candidates);
        });
      }
      if (reviewed || rejected) return showReviewed(prediction, reviewed, layers.box);
      const box = polygon(prediction.box_geojson, BOX).bindTooltip(text(`score ${prediction.score.toFixed(2)}`));
      box.addTo(layers.box);
      if (label) polygon(label, LABEL).bindTooltip(text("reviewed label")).addTo(layers.box);
      return box;
    },
    // Where the drone was (EXIF GPS) and where its camera looked: along the heading, at the distance the
    // gimbal pitch and the height above ground give.
    showDrone(image) {
      layers.drone.clearLayers();
      if (!image || !image.has_gps) return;
      const here = L.latLng(image.gps_lat, image.gps_lon);
      L.circleMarker(here, DRONE)
        .bindTooltip(text(`drone ${image.original_name} (EXIF GPS)`)).addTo(layers.drone);
      if (image.heading_deg === null || image.heading_deg === undefined) return;
      const height = image.rel_alt_m ?? 60;
      const pitch = image.pitch_deg ?? -45;
      const ahead = pitch <= -89 ? 0 : Math.min(height / Math.tan((-pitch * Math.PI) / 180), 2000);
      const heading = (image.heading_deg * Math.PI) / 180;
      const metres = Math.max(ahead, 20);
      const lookAt = L.latLng(
        image.gps_lat + (metres * Math.cos(heading)) / 111320,
        image.gps_lon + (metres * Math.sin(heading)) / (111320 * Math.cos((image.gps_lat * Math.PI) / 180)),
      );
      L.polyline([here, lookAt], HEADING)
        .bindTooltip(text(`heading ${Math.round(image.heading_deg)}°, pitch ${Math.round(pitch)}°`)).addTo(layers.drone);
      L.circleMarker(lookAt, { radius: 3, color: "#101828" }).bindTooltip(text("where the camera looked")).addTo(layers.drone);
    },
    showWindow(bounds) {
      layers.window.clearLayers();
      if (bounds) L.rectangle(lonlatBounds(bounds), WINDOW).bindTooltip(text("search window")).addTo(layers.window);
    },
    // Lets the user draw a rectangle; resolves with its [west, south, east, north].
    drawRectangle() {
      return new Promise((resolve) => {
        const tool = new L.Draw.Rectangle(map, { shapeOptions: WINDOW });
        map.once(L.Draw.Event.CREATED, (event) => resolve(boundsToList(event.layer.getBounds())));
        tool.enable();
      });
    },
    // An editable rectangle (drag its corners or move it); `onChange([w, s, e, n])` after each edit.
    editableBox(geojson, onChange) {
      layers.box.clearLayers();
      const bounds = polygon(geojson).getBounds();
      const rect = L.rectangle(bounds, { ...BOX, color: "#12b76a" }).addTo(layers.box);
      rect.editing.enable();
      const changed = () => onChange(boundsToList(rect.getBounds()));
      map.on(L.Draw.Event.EDITMOVE, changed);
      map.on(L.Draw.Event.EDITRESIZE, changed);
      return {
        rect,
        remove() {
          map.off(L.Draw.Event.EDITMOVE, changed);
          map.off(L.Draw.Event.EDITRESIZE, changed);
          rect.editing.disable();
          rect.remove();
        },
      };
    },
    // The whole basemap in view.
    fit() {
      if (basemap) map.fitBounds(lonlatBounds(basemap.bounds));
    },
    focus(geojson) {
      const bounds = polygon(geojson).getBounds();
      if (bounds.isValid()) map.fitBounds(bounds.pad(2.5), { maxZoom: (basemap?.max_zoom ?? 18) + 1 });
    },
  };
}

// A reviewed target: the review's box first (green), the model's own box thin and dashed (left out when the
// reviewer approved it as it was). Returns the main layer (the dashed one when the prediction was rejected).
function showReviewed(prediction, reviewed, group) {
  const same = reviewed && JSON.stringify(reviewed.coordinates) === JSON.stringify(prediction.box_geojson.coordinates);
  const verdict = reviewed ? "before the correction" : "rejected";
  const secondary = same ? null
    : polygon(prediction.box_geojson, SECONDARY).bindTooltip(text(`predicted box, ${verdict} (score ${prediction.score.toFixed(2)})`)).addTo(group);
  if (!reviewed) return secondary;
  return polygon(reviewed, LABEL).bindTooltip(text("reviewed box")).addTo(group);
}
