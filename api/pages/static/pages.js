// Kennisbank pages: a little plain JavaScript on top of forms that also work without it.
// Keys on the agent page: Ctrl+Enter (or Cmd+Enter) sends the message, Alt+C copies the top draft.
// Server HTML is escaped by Jinja2; text from users is only ever put in the page with textContent.
"use strict";

(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const X_URL = /https?:\/\/\S+|www\.\S+/gi;

  function post(url, form, accept, extraHeaders) {
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams(form),
      headers: Object.assign({ "X-CSRF-Token": csrf(), "Accept": accept }, extraHeaders || {}),
      credentials: "same-origin",
    });
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (response.status === 401) return "Je sessie is verlopen: log opnieuw in (herlaad de pagina).";
      return (body.error && body.error.message) || ("Fout " + response.status);
    } catch (e) {
      return "Fout " + response.status + " van de server.";
    }
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = document.createElement("textarea");  // plain http on a LAN: the older way
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  // Drafts show whole, at any width: a textarea grows to its text (CSSOM styles are allowed by the CSP).
  function fit(area) {
    area.style.height = "auto";
    area.style.height = (area.scrollHeight + 2) + "px";
  }
  const fitAll = () => document.querySelectorAll("textarea.draft").forEach(fit);
  fitAll();
  window.addEventListener("resize", fitAll);

  function say(el, text, failed) {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("fail", Boolean(failed));
  }

  // --- agent page: suggestions ------------------------------------------------------------------------
  const suggestForm = document.getElementById("suggest-form");
  const results = document.getElementById("results");
  const status = document.getElementById("status");
  const errorBox = document.getElementById("error");
  let inFlight = null;

  if (suggestForm && results) {
    suggestForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (inFlight) inFlight.abort();
      const controller = new AbortController();
      inFlight = controller;
      // The last answer stays on screen (dimmed) until the new one is there.
      results.classList.add("loading");
      results.setAttribute("aria-busy", "true");
      say(status, "Suggesties ophalen…");
      errorBox.hidden = true;
      const started = performance.now();
      try {
        const response = await fetch(suggestForm.getAttribute("action"), {
          method: "POST", body: new URLSearchParams(new FormData(suggestForm)), signal: controller.signal,
          headers: { "X-CSRF-Token": csrf(), "X-Fragment": "1", "Accept": "text/html, application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) throw new Error(await errorText(response));
        results.innerHTML = await response.text();  // server-rendered, autoescaped fragment
        fitAll();
        const n = results.querySelectorAll(".suggestion").length;
        say(status, n + (n === 1 ? " suggestie" : " suggesties") + " in " +
            Math.round(performance.now() - started) + " ms");
      } catch (err) {
        if (err.name === "AbortError") return;
        say(status, "");
        errorBox.textContent = err.message || String(err);
        errorBox.hidden = false;
      } finally {
        if (inFlight === controller) {
          inFlight = null;
          results.classList.remove("loading");
          results.removeAttribute("aria-busy");
        }
      }
    });
  }

  // --- keys --------------------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    if (suggestForm && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      suggestForm.requestSubmit();
    } else if (event.altKey && !event.ctrlKey && !event.metaKey && (event.code === "KeyC" || event.key === "c")) {
      const top = document.querySelector(".suggestion .copy");
      if (top) {
        event.preventDefault();
        top.click();
        top.focus();
      }
    }
  });

  // --- copy, length, feedback (delegated: result cards are replaced on every answer) -----------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const form = button.closest("form");
    const draft = form && form.querySelector("textarea.draft");
    if (!draft) return;
    const done = form.querySelector(".done");
    try {
      await copyText(draft.value);
      say(done, "✓ Gekopieerd");
    } catch (err) {
      say(done, "Kopiëren lukte niet: selecteer de tekst en kopieer zelf", true);
    }
  });

  document.addEventListener("input", (event) => {
    const draft = event.target.closest("textarea.draft");
    if (!draft) return;
    fit(draft);
    const channel = (document.getElementById("channel") || {}).value;
    let length = draft.value.normalize("NFC").length;
    if (channel === "x") {  // as the server counts it: every link is 23 characters on X
      const urls = draft.value.match(X_URL) || [];
      length = draft.value.replace(X_URL, "").length + 23 * urls.length;
    }
    const count = draft.form.querySelector(".count");
    count.querySelector(".length").textContent = String(length);
    count.classList.toggle("over", length > Number(draft.dataset.max || 1e9));
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.classList.contains("reindex")) {  // a normal post; just show that it is running
      const button = form.querySelector("button");
      button.disabled = true;
      button.textContent = form.dataset.busy || "Bezig…";
      return;
    }
    if (form.classList.contains("choose-search")) {  // search for an article to choose: results in place
      const box = form.parentElement && form.parentElement.querySelector(".choose-results");
      if (!box) return;
      event.preventDefault();
      const url = form.getAttribute("action") + "?" + new URLSearchParams(new FormData(form)).toString();
      try {
        const response = await fetch(url, { headers: { "X-Fragment": "1", "Accept": "text/html, application/json" },
                                             credentials: "same-origin" });
        if (!response.ok) throw new Error(await errorText(response));
        box.innerHTML = await response.text();  // server-rendered, autoescaped fragment
      } catch (err) {
        box.textContent = err.message || String(err);
      }
      return;
    }
    if (!form.classList.contains("feedback")) return;
    event.preventDefault();
    const submitter = event.submitter;
    const data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    const done = form.querySelector(".done");
    try {
      const response = await post(form.getAttribute("action"), data, "application/json");  // not form.action: a field is named "action"
      if (response.status !== 201) throw new Error(await errorText(response));
      form.querySelectorAll('button[name="action"]').forEach((b) => b.setAttribute("aria-pressed", "false"));
      if (submitter) submitter.setAttribute("aria-pressed", "true");
      say(done, "✓ " + (submitter ? submitter.textContent.trim() : "Opgeslagen") + " opgeslagen");
    } catch (err) {
      say(done, err.message || String(err), true);
    }
  });
})();
