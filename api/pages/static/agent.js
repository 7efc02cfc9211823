// The agent page: suggestions without a reload, the first draft brought into view, copy, live counters for the
// message (KB_MAX_MESSAGE_CHARS) and the drafts (the channel's limit, also after the channel changes), and
// feedback as one choice per suggestion (click the active one again to take it back).
// Keys: Ctrl+Enter (or Cmd+Enter) sends the message, Alt+C copies the top draft.
// Server HTML is escaped by Jinja2; text from users is only ever put in the page with textContent.
"use strict";

(function () {
  const suggestForm = document.getElementById("suggest-form");
  if (!suggestForm) return;
  const results = document.getElementById("results");
  const status = document.getElementById("status");
  const errorBox = document.getElementById("error");
  const message = document.getElementById("message");
  const channelSelect = document.getElementById("channel");
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const X_URL = /https?:\/\/\S+|www\.\S+/gi;
  const thousands = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  const chars = (text) => [...text.normalize("NFC")].length;  // code points, as the server counts

  function post(url, data, accept, extraHeaders) {
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: Object.assign({ "X-CSRF-Token": csrf(), "Accept": accept }, extraHeaders || {}),
      credentials: "same-origin",
    });
  }

  async function errorText(response) {
    if (response.status === 401) return "Je sessie is verlopen: log opnieuw in (herlaad de pagina).";
    try {
      const body = await response.json();
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

  function say(el, text, kind) {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("fail", kind === "fail");
    el.classList.toggle("warn", kind === "warn");
  }

  // Drafts show whole, at any width: a textarea grows to its text (CSSOM styles are allowed by the CSP).
  function fit(area) {
    area.style.height = "auto";
    area.style.height = (area.scrollHeight + 2) + "px";
  }
  const fitAll = () => document.querySelectorAll("textarea.draft").forEach(fit);
  fitAll();
  window.addEventListener("resize", fitAll);

  // --- the message: a live count, and a long paste is never cut without a word ---------------------------
  const messageMax = Number(message.dataset.max || 5000);
  const messageCount = document.getElementById("message-count");
  const messageOver = document.getElementById("message-over");

  function countMessage() {
    const length = chars(message.value.trim());
    const over = length > messageMax;
    messageCount.querySelector(".length").textContent = thousands(length);
    messageCount.classList.toggle("over", over);
    messageOver.querySelector(".length").textContent = thousands(length);
    if (messageOver.hidden === over) messageOver.hidden = !over;  // only on a change: role=alert speaks once
    message.setAttribute("aria-invalid", over ? "true" : "false");
    return over;
  }
  message.addEventListener("input", countMessage);
  countMessage();

  // --- drafts: length as the channel counts it, against the channel now chosen ---------------------------
  function channelNow() {
    const option = channelSelect.selectedOptions[0];
    return { value: channelSelect.value, name: option ? option.textContent.trim() : channelSelect.value,
             max: Number(option ? option.dataset.max : 1e9) };
  }

  function lengthOn(channel, text) {
    if (channel !== "x") return chars(text);
    const urls = text.match(X_URL) || [];  // every link is 23 characters on X
    return chars(text.replace(X_URL, "")) + 23 * urls.length;
  }

  function count(area) {
    const counter = document.getElementById(area.getAttribute("aria-describedby"));
    if (!counter) return 0;
    const channel = channelNow();
    const length = lengthOn(channel.value, area.value);
    const over = length > channel.max;
    counter.querySelector(".length").textContent = String(length);
    counter.querySelector(".max").textContent = String(channel.max);
    counter.querySelector(".channel-name").textContent = channel.name;
    counter.querySelector(".over-note").hidden = !over;
    counter.classList.toggle("over", over);
    return length;
  }
  const countAll = () => results.querySelectorAll("textarea.draft, textarea.sent").forEach(count);

  channelSelect.addEventListener("change", () => {
    countAll();
    const head = results.querySelector(".results-head");
    const notice = head && head.querySelector(".channel-changed");
    if (!notice) return;
    notice.querySelector(".now-channel").textContent = channelNow().name;
    notice.hidden = head.dataset.channel === channelSelect.value;
  });

  document.addEventListener("input", (event) => {
    const area = event.target.closest("textarea.draft, textarea.sent");
    if (!area) return;
    if (area.classList.contains("draft")) fit(area);
    count(area);
  });

  // --- suggestions ---------------------------------------------------------------------------------------
  function bringFirstIntoView() {
    const first = results.querySelector(".kind-reply, .suggestion");  // the kind's reply comes first when there is one
    const target = first ? first.querySelector("h3") : results.querySelector(".no-match");
    if (!target) return;
    target.focus({ preventScroll: true });  // a screen reader starts at the first suggestion
    const shown = first ? first.querySelector("textarea.draft") : target;
    const box = shown.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) (first || target).scrollIntoView({ block: "start" });
  }

  let inFlight = null;
  suggestForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (countMessage()) {  // the alert under the field says it; nothing is sent
      message.focus();
      return;
    }
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
      const response = await fetch("/agent/suggest", {
        method: "POST", body: new URLSearchParams(new FormData(suggestForm)), signal: controller.signal,
        headers: { "X-CSRF-Token": csrf(), "X-Fragment": "1", "Accept": "text/html, application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(await errorText(response));
      results.innerHTML = await response.text();  // server-rendered, autoescaped fragment
      fitAll();
      const n = results.querySelectorAll(".suggestion").length;
      say(status, (n === 0 ? "Geen suggesties" : n + (n === 1 ? " suggestie" : " suggesties")) + " in " +
          Math.round(performance.now() - started) + " ms");
      bringFirstIntoView();
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

  // --- keys ----------------------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      suggestForm.requestSubmit();
    } else if (event.altKey && !event.ctrlKey && !event.metaKey && (event.code === "KeyC" || event.key === "c")) {
      const top = document.querySelector(".kind-reply .copy, .suggestion .copy");
      if (top) {
        event.preventDefault();
        top.click();
        top.focus();
      }
    }
  });

  // --- copy (delegated: result cards are replaced on every answer) -------------------------------------
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
      say(done, "Kopiëren lukte niet: selecteer de tekst en kopieer zelf", "fail");
    }
  });

  // --- feedback: one choice per suggestion, the last one counts ------------------------------------------
  const LABEL = { used: "Gebruikt", edited: "Aangepast", rejected: "Afgewezen", no_good_answer: "Geen goed antwoord" };

  async function choose(form, action, finalText) {
    const done = form.querySelector(".done");
    const buttons = form.querySelectorAll('button[name="action"]');
    const active = form.querySelector(`button[name="action"][value="${action}"]`);
    const undo = active && active.getAttribute("aria-pressed") === "true" && finalText === undefined;
    const data = new FormData(form);
    data.set("action", action);
    if (finalText !== undefined) data.set("final_text", finalText);
    if (undo) data.set("undo", "1");
    try {
      const response = await post(form.getAttribute("action"), data, "application/json");  // not form.action: a field is named "action"
      if (response.status !== (undo ? 200 : 201)) throw new Error(await errorText(response));
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(!undo && b === active)));
      if (undo) {
        say(done, "Keuze ingetrokken");
        return;
      }
      const sent = data.get("final_text");
      const channel = channelNow();
      const length = sent ? lengthOn(channel.value, String(sent)) : 0;
      if ((action === "used" || action === "edited") && length > channel.max) {
        say(done, "✓ " + LABEL[action] + " opgeslagen. Let op: " + length + " tekens, langer dan " + channel.name +
            " toestaat (" + channel.max + ")", "warn");
      } else {
        say(done, "✓ " + LABEL[action] + " opgeslagen");
      }
    } catch (err) {
      say(done, err.message || String(err), "fail");
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList.contains("feedback")) return;
    event.preventDefault();
    const submitter = event.submitter;
    const action = submitter && submitter.value;
    if (!action) return;
    const draft = form.querySelector("textarea.draft");
    const panel = form.querySelector(".sent-panel");
    const pressed = submitter.getAttribute("aria-pressed") === "true";
    if (action === "edited" && !pressed && draft && panel && draft.value === draft.defaultValue) {
      // "Aangepast" stores what was sent: the agent pastes it (they edited it in their inbox tool).
      panel.hidden = false;
      const sent = panel.querySelector("textarea.sent");
      count(sent);
      sent.focus();
      return;
    }
    if (action === "used" || action === "edited") choose(form, action, pressed ? undefined : draft.value);
    else choose(form, action);
  });

  document.addEventListener("click", (event) => {
    const save = event.target.closest("button.save-edited");
    const cancel = event.target.closest("button.cancel-edited");
    if (!save && !cancel) return;
    const form = event.target.closest("form");
    const panel = form.querySelector(".sent-panel");
    const sent = panel.querySelector("textarea.sent");
    if (cancel) {
      panel.hidden = true;
      form.querySelector('button[value="edited"]').focus();
      return;
    }
    if (!sent.value.trim()) {
      say(form.querySelector(".done"), "Plak eerst de tekst die je verstuurde (of pas het concept aan).", "fail");
      sent.focus();
      return;
    }
    choose(form, "edited", sent.value);
  });
})();
