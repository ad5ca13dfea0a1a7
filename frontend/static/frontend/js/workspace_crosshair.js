// The keyboard's way to click the drone photo: focus the photo (Tab, or C), the arrow keys move a crosshair
// (Shift: ten times farther), Enter clicks there exactly as the mouse would, Esc leaves.

const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

// `drone`: maps.js droneView; `place({x, y})`: what a click at that pixel does.
export function setupCrosshair(drone, container, place) {
  let point = null;
  const centre = () => ({ x: Math.round(drone.image.width / 2), y: Math.round(drone.image.height / 2) });
  const show = () => drone.showCrosshair(point);
  container.addEventListener("focus", () => {
    if (drone.image && container.matches(":focus-visible")) {
      point = point || centre();
      show();
    }
  });
  container.addEventListener("blur", () => drone.showCrosshair(null));
  return {
    // A new photo: the crosshair starts again from its centre.
    reset() {
      point = null;
      if (document.activeElement === container && drone.image) {
        point = centre();
        show();
      }
    },
    focus() {
      container.focus();
    },
    // The photo's keys; true when the key was the crosshair's.
    key(event) {
      if (!drone.image) return false;
      if (event.key === "Escape") {
        container.blur();
        return true;
      }
      if (event.key === "Enter") {
        place(point || centre());
        return true;
      }
      const move = MOVES[event.key];
      if (!move) return false;
      const step = Math.max(1, Math.round(drone.image.width / 100)) * (event.shiftKey ? 10 : 1);
      point = point || centre();
      point = { x: clamp(point.x + move[0] * step, 0, drone.image.width - 1), y: clamp(point.y + move[1] * step, 0, drone.image.height - 1) };
      show();
      return true;
    },
  };
}
