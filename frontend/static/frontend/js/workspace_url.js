// The selected drone photo and target live in the address (?image=…&target=…): Back/Forward and a reload
// bring them back.

const number = (value) => (value && /^\d+$/.test(value) ? Number(value) : null);

export function readUrl() {
  const params = new URLSearchParams(window.location.search);
  return { image: number(params.get("image")), target: number(params.get("target")) };
}

// A new history entry when the selection changed (never two entries for the same one).
export function writeUrl({ image, target }) {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries({ image, target })) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const query = params.toString() ? `?${params}` : "";
  if (query !== window.location.search) window.history.pushState(null, "", `${window.location.pathname}${query}${window.location.hash}`);
}

export function onUrlChange(restore) {
  window.addEventListener("popstate", () => restore(readUrl()));
}
