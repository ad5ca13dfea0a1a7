// What the typed bounds of a PNG/JPEG basemap say before it is uploaded: parsed, checked against the mission's
// drone GPS points, and a likely latitude/longitude swap spotted (the values only make sense swapped, or swapping
// them puts the drone's GPS points inside). Pure functions: no DOM, no map.

// "west,south,east,north" -> { bounds: [w, s, e, n] } or { error: "why" } (an empty text is { bounds: null }).
export function parseBounds(text) {
  const raw = (text || "").trim();
  if (!raw) return { bounds: null };
  const parts = raw.replace(/^\[|\]$/g, "").split(",").map((part) => part.trim());
  if (parts.length !== 4) return { error: "Bounds need four numbers: west, south, east, north." };
  const values = parts.map(Number);
  if (parts.some((part) => part === "") || values.some((v) => !Number.isFinite(v))) {
    return { error: "Bounds need four numbers: west, south, east, north." };
  }
  return { bounds: values };
}

// [w, s, e, n] read the other way round: longitudes typed as latitudes and the reverse.
export const swapped = ([w, s, e, n]) => [s, w, n, e];

export const formatBounds = (bounds) => bounds.map((v) => String(v)).join(",");

// Longitude within ±180, latitude within ±90, west < east, south < north.
export function plausible([w, s, e, n]) {
  const lonOk = [w, e].every((v) => Math.abs(v) <= 180);
  const latOk = [s, n].every((v) => Math.abs(v) <= 90);
  return lonOk && latOk && w < e && s < n;
}

const inside = ([w, s, e, n], p) => p.lon >= w && p.lon <= e && p.lat >= s && p.lat <= n;

// points: [{ lat, lon }] (the mission's drone GPS). Returns
// { swap: null | { bounds, why }, outside: boolean, insideCount, pointCount }.
export function checkBounds(bounds, points) {
  const other = swapped(bounds);
  const insideCount = points.filter((p) => inside(bounds, p)).length;
  const result = { swap: null, outside: points.length > 0 && insideCount === 0, insideCount, pointCount: points.length };
  if (!plausible(bounds) && plausible(other)) {
    result.swap = { bounds: other, why: "these values only make sense read the other way round" };
  } else if (result.outside && points.some((p) => inside(other, p))) {
    const n = points.filter((p) => inside(other, p)).length;
    result.swap = { bounds: other, why: `read the other way round, they contain ${n} of the mission's ${points.length} drone GPS points` };
  }
  return result;
}

// The mission's drone images that carry EXIF GPS, as points.
export const gpsPoints = (images) =>
  images.filter((i) => i.gps_lat !== null && i.gps_lon !== null && i.gps_lat !== undefined)
    .map((i) => ({ lat: i.gps_lat, lon: i.gps_lon, name: i.original_name }));
