// Names for the handles Leaflet.draw puts on a box being edited (the review queue's correction): Leaflet makes each
// handle a focusable button, and a button needs a name a screen reader can say. The name is also its tooltip.
// Loaded on every page by base.html, after leaflet.draw.js; does nothing where Leaflet.draw is absent.

const MOVE = "Drag to move the box";
const RESIZE = "Drag this corner to resize the box";

function nameEditHandles(SimpleShape) {
  const createMarker = SimpleShape.prototype._createMarker;
  SimpleShape.prototype._createMarker = function (latlng, icon) {
    const marker = createMarker.call(this, latlng, icon);
    const name = /leaflet-edit-move/.test(icon?.options?.className || "") ? MOVE : RESIZE;
    marker.options.title = name;  // read when the handle is drawn
    marker.getElement()?.setAttribute("title", name);  // already drawn: the group was on the map
    return marker;
  };
}

if (window.L?.Edit?.SimpleShape) nameEditHandles(window.L.Edit.SimpleShape);
