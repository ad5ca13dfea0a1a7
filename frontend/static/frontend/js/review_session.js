// "Decided in this session": the reviewer's decisions on this mission, kept in the tab's sessionStorage (keyed by
// mission and user) so a reload keeps the list and U still undoes the last decision. An undone decision stays in
// the list, marked; undo takes the latest one not undone.

const PAST = { approve: "approved", correct: "corrected", reject: "rejected", reopen: "reopened" };

export function reviewSession(missionId, username) {
  const key = `smgeo.review-session.${missionId}.${username}`;
  let decided = read(key);
  const save = () => sessionStorage.setItem(key, JSON.stringify(decided));
  return {
    get entries() { return decided; },
    // The latest decision still standing (what U undoes), or null.
    last() {
      return [...decided].reverse().find((entry) => !entry.undone) || null;
    },
    add(target, decision, status) {
      decided.push({ target, decision, status, undone: false });
      save();
    },
    // Every decision on `target` no longer stands (undone, or the target reopened from its read-only view).
    undone(target) {
      decided = decided.map((entry) => (entry.target === target ? { ...entry, undone: true } : entry));
      save();
    },
  };
}

function read(key) {
  try {
    const value = JSON.parse(sessionStorage.getItem(key) || "[]");
    return Array.isArray(value) ? value.filter((entry) => Number.isInteger(entry?.target) && PAST[entry.decision]) : [];
  } catch {
    return []; // a damaged entry starts an empty session rather than breaking the page
  }
}

export const pastTense = (decision) => PAST[decision] || decision;
