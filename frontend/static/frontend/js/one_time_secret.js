// A secret the server hands back once (a new API token, an invitation link): shown in its box with Copy and Done;
// Done empties the box, so the secret is gone from the page as it is from the server.
import { toast } from "./ui.js";

export function showOnce(boxSelector, inputSelector, secret) {
  const box = document.querySelector(boxSelector);
  const input = document.querySelector(inputSelector);
  input.value = secret;
  box.hidden = false;
  input.focus();
  input.select();
}

export function wireOnce(boxSelector, inputSelector, copySelector, doneSelector) {
  const box = document.querySelector(boxSelector);
  const input = document.querySelector(inputSelector);
  document.querySelector(copySelector).addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      toast("Copied", "success", 2000);
    } catch {
      toast("Your browser did not allow copying: the text is selected, press Ctrl+C (⌘C)", "info");
    }
  });
  document.querySelector(doneSelector).addEventListener("click", () => {
    input.value = "";
    box.hidden = true;
  });
}
