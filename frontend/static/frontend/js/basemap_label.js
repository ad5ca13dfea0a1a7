// How a basemap is named in a picker: its name, then its size in pixels and the day it was uploaded, so two
// basemaps of the same name ("basemap_00") can be told apart.
const DAY = { year: "numeric", month: "short", day: "numeric" };

export function basemapLabel(basemap) {
  const size = basemap.width && basemap.height ? `${basemap.width}×${basemap.height} px` : null;
  const day = basemap.created_at ? new Date(basemap.created_at).toLocaleDateString(undefined, DAY) : null;
  const details = [size, day].filter(Boolean).join(" · ");
  return details ? `${basemap.name} (${details})` : basemap.name;
}
