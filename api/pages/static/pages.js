// Kennisbank pages: a little plain JavaScript on top of forms that also work without it.
// The agent page has its own file (agent.js); this one is for every page.
// Server HTML is escaped by Jinja2; text from users is only ever put in the page with textContent.
"use strict";

(function () {
  // A re-index is a normal post; show that it is running.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList.contains("reindex")) return;
    const button = form.querySelector("button");
    button.disabled = true;
    button.textContent = form.dataset.busy || "Bezig…";
  });
})();
