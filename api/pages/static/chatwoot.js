// The Kennisbank sidebar inside Chatwoot (a dashboard app): which message to look at comes from Chatwoot's
// conversation context (postMessage), accepted only from the connected Chatwoot origin; the text is looked up by
// the server. Signing in exchanges the key for a session token kept in this tab's sessionStorage (the key itself
// is never kept), sent as X-KB-Session with its CSRF token. Feedback is one choice per suggestion (clicked again:
// taken back), as on the agent page; when none fits, the agent searches the knowledge base and chooses the article
// (feedback "chosen"). Text from users only ever reaches the page through textContent or the server's autoescaped
// fragments.
"use strict";

(function () {
  const body = document.body;
  const origins = (body.dataset.origins || "").split(" ").filter(Boolean);
  const account = Number(body.dataset.account || 0);
  const STORE = "kb-chatwoot-session";
  const X_URL = /https?:\/\/\S+|www\.\S+/gi;
  const $ = (id) => document.getElementById(id);
  const signIn = $("sign-in"), work = $("work"), who = $("who"), signOut = $("sign-out");
  const pick = $("message-pick"), refresh = $("refresh"), results = $("results");
  const status = $("status"), errorBox = $("error");
  if (!signIn || !work) return;  // not connected: nothing to do

  // sessionStorage keeps the session across reloads of this tab. A browser that blocks a third-party frame's
  // storage (Chromium in incognito, strict settings) refuses it: the session then lives as long as the page.
  const storage = (function () {
    try { const s = window.sessionStorage; s.getItem(STORE); return s; } catch (e) { return null; }
  })();
  let auth = null;  // {token, csrf, name}; token null when the session is the cookie's
  try { auth = JSON.parse((storage && storage.getItem(STORE)) || "null"); } catch (e) { auth = null; }
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (!auth && meta) auth = { token: null, csrf: meta.content, name: body.dataset.user || "" };

  let context = null;  // Chatwoot's {conversation, contact, currentAgent}
  let shown = "";  // conversation/message the results are for

  function say(el, text, failed) {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("fail", Boolean(failed));
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function signedIn(yes) {
    signIn.hidden = yes;
    work.hidden = !yes;
    signOut.hidden = !yes;
    who.textContent = yes && auth ? auth.name : "";
    if (yes) { askChatwoot(); } else { $("key").focus(); }
  }

  function headers(accept) {
    const h = { "Content-Type": "application/json", "Accept": accept || "application/json",
                "X-CSRF-Token": auth ? auth.csrf : "" };
    if (auth && auth.token) h["X-KB-Session"] = auth.token;
    return h;
  }

  async function errorText(response) {
    try {
      const data = await response.json();
      return (data.error && data.error.message) || ("Fout " + response.status);
    } catch (e) {
      return "Fout " + response.status + " van de server.";
    }
  }

  function forget() {
    auth = null;
    if (storage) storage.removeItem(STORE);
    results.textContent = "";
    shown = "";
    signedIn(false);
  }

  // --- signing in and out ---------------------------------------------------------------------------------
  signIn.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("sign-in-error");
    box.hidden = true;
    const response = await fetch("/integrations/chatwoot/sidebar/session", {
      method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ key: $("key").value.trim() }), credentials: "same-origin",
    });
    $("key").value = "";
    if (!response.ok) {
      box.textContent = response.status === 401 ? "Onbekende of ingetrokken sleutel." : await errorText(response);
      box.hidden = false;
      return;
    }
    const data = await response.json();
    auth = { token: data.token, csrf: data.csrf, name: data.name };
    if (storage) storage.setItem(STORE, JSON.stringify(auth));
    signedIn(true);
  });

  signOut.addEventListener("click", async () => {
    try {
      await fetch("/integrations/chatwoot/sidebar/logout", { method: "POST", headers: headers(),
                                                            credentials: "same-origin" });
    } finally {
      forget();
    }
  });

  // --- Chatwoot's context ---------------------------------------------------------------------------------
  function askChatwoot() {
    if (window.parent === window) return;
    origins.forEach((origin) => window.parent.postMessage("chatwoot-dashboard-app:fetch-info", origin));
  }

  window.addEventListener("message", (event) => {
    if (!origins.includes(event.origin)) return;  // only the connected Chatwoot may say which message
    let data = event.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || data.event !== "appContext" || !data.data || !data.data.conversation) return;
    context = data.data;
    listMessages();
  });

  function customerMessages() {
    const messages = (context && context.conversation.messages) || [];
    return messages.filter((m) => m && m.message_type === 0 && !m.private && typeof m.content === "string" &&
                                  m.content.trim())
                   .sort((a, b) => Number(a.id) - Number(b.id));
  }

  function listMessages() {
    const messages = customerMessages();
    const keep = pick.value;
    pick.textContent = "";
    if (!messages.length) {
      const none = document.createElement("option");
      none.value = "";
      none.textContent = "Nog geen bericht van de klant in dit gesprek";
      pick.appendChild(none);
    }
    messages.forEach((m, i) => {
      const option = document.createElement("option");
      option.value = String(m.id);
      const text = m.content.replace(/\s+/g, " ").trim();
      option.textContent = (i === messages.length - 1 ? "Laatste: " : "") +
                           (text.length > 70 ? text.slice(0, 69) + "…" : text);
      pick.appendChild(option);
    });
    const ids = messages.map((m) => String(m.id));
    pick.value = ids.includes(keep) && shown.startsWith(String(context.conversation.id) + "/") ? keep :
                 (ids[ids.length - 1] || "");
    pick.disabled = refresh.disabled = !messages.length;
    if (messages.length && auth) suggest(false);
  }

  // --- suggestions ----------------------------------------------------------------------------------------
  async function suggest(again) {
    const conversation = context.conversation;
    const message = customerMessages().find((m) => String(m.id) === pick.value);
    if (!message) return;
    const what = conversation.id + "/" + message.id;
    if (what === shown && !again) return;
    shown = what;
    const sender = (conversation.meta && conversation.meta.sender) || context.contact || {};
    const agent = context.currentAgent || {};
    results.classList.add("loading");
    say(status, "Suggesties ophalen…");
    showError("");
    const response = await fetch("/integrations/chatwoot/sidebar/suggest", {
      method: "POST", headers: headers("text/html, application/json"), credentials: "same-origin",
      body: JSON.stringify({
        account: account, conversation_id: String(conversation.id), message_id: String(message.id),
        context_text: message.content, channel: conversation.channel || null,
        customer_name: (sender.name || "").trim().split(/\s+/)[0] || null,  // webcare greets by first name
        agent_name: agent.name || null,
      }),
    });
    results.classList.remove("loading");
    if (response.status === 401) { forget(); return; }
    if (!response.ok) {
      say(status, "");
      showError(await errorText(response));
      shown = "";
      return;
    }
    results.innerHTML = await response.text();  // the server's autoescaped fragment
    results.querySelectorAll("textarea.draft").forEach(fit);
    const n = results.querySelectorAll(".suggestion").length;
    say(status, n ? n + (n === 1 ? " suggestie" : " suggesties") : "");
  }

  pick.addEventListener("change", () => suggest(false));
  refresh.addEventListener("click", () => suggest(true));

  // --- copy and feedback ----------------------------------------------------------------------------------
  // Chatwoot's frame has no allow="clipboard-write": the clipboard API is refused there (Chromium says so in the
  // console), so it is asked only where the frame's policy allows it; otherwise the older way copies.
  function clipboardAllowed() {
    const policy = document.permissionsPolicy || document.featurePolicy;
    return Boolean(navigator.clipboard) && (!policy || policy.allowsFeature("clipboard-write"));
  }

  async function copyText(text) {
    try {
      if (!clipboardAllowed()) throw new Error("clipboard-write not allowed in this frame");
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      const done = document.execCommand("copy");
      area.remove();
      if (!done) throw e;
    }
  }

  const LABEL = { used: "Gebruikt", edited: "Aangepast", rejected: "Afgewezen", no_good_answer: "Geen goed antwoord",
                  chosen: "Gekozen" };

  results.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const actions = button.closest(".actions");
    const done = actions && actions.querySelector(".done");
    const card = button.closest(".suggestion");
    const draft = card && card.querySelector("textarea.draft");
    const row = button.closest("[data-article-id]");  // a suggestion, or an article the search found
    if (button.classList.contains("copy")) {
      try {
        await copyText(draft.value);
        say(done, "✓ Gekopieerd: plak het in je antwoord");
      } catch (e) {
        say(done, "Kopiëren lukte niet: selecteer de tekst en kopieer zelf", true);
      }
      return;
    }
    if (!button.classList.contains("fb")) return;
    const head = results.querySelector(".results-head");
    const action = button.dataset.action;
    const undo = button.getAttribute("aria-pressed") === "true";  // the choice that stands, clicked again
    const response = await fetch("/integrations/chatwoot/sidebar/feedback", {
      method: "POST", headers: headers(), credentials: "same-origin",
      body: JSON.stringify({
        request_id: head.dataset.requestId, action: action, undo: undo,
        article_id: row ? row.dataset.articleId : null,
        final_text: draft && !undo && (action === "used" || action === "edited") ? draft.value : null,
      }),
    });
    if (response.status === 401) { forget(); return; }
    if (response.status !== (undo ? 200 : 201)) { say(done, await errorText(response), true); return; }
    actions.querySelectorAll("button.fb").forEach((b) => b.setAttribute("aria-pressed", String(!undo && b === button)));
    say(done, undo ? "Keuze ingetrokken" : "✓ " + (LABEL[action] || button.textContent.trim()) + " opgeslagen");
  });

  // --- an article the suggestions missed: search, the server's fragment under the search, then "Kies dit artikel"
  results.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.choose-search");
    if (!form) return;
    event.preventDefault();
    const box = form.parentElement.querySelector(".choose-results");
    const head = results.querySelector(".results-head");
    box.setAttribute("aria-busy", "true");
    const response = await fetch(form.getAttribute("action"), {
      method: "POST", headers: headers("text/html, application/json"), credentials: "same-origin",
      body: JSON.stringify({ request_id: head.dataset.requestId, q: form.elements.q.value }),
    });
    box.removeAttribute("aria-busy");
    if (response.status === 401) { forget(); return; }
    if (!response.ok) {
      box.textContent = "";
      const failed = document.createElement("p");
      failed.className = "done small fail";
      failed.textContent = await errorText(response);
      box.appendChild(failed);
      return;
    }
    box.innerHTML = await response.text();  // the server's autoescaped fragment
  });

  // A draft shows whole in the narrow frame: the textarea grows to its text (CSSOM styles are allowed by the CSP).
  function fit(area) {
    area.style.height = "auto";
    area.style.height = (area.scrollHeight + 2) + "px";
  }

  results.addEventListener("input", (event) => {
    const draft = event.target.closest("textarea.draft");
    if (!draft) return;
    fit(draft);
    const count = draft.parentElement.querySelector(".count");
    const head = results.querySelector(".results-head");
    let length = draft.value.normalize("NFC").length;
    if (head && head.dataset.channel === "x") {  // as the server counts it: every link is 23 characters on X
      const urls = draft.value.match(X_URL) || [];
      length = draft.value.replace(X_URL, "").length + 23 * urls.length;
    }
    count.querySelector(".length").textContent = String(length);
    count.classList.toggle("over", length > Number(draft.dataset.max || 1e9));
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey && !event.ctrlKey && !event.metaKey && (event.code === "KeyC" || event.key === "c")) {
      const top = results.querySelector(".suggestion .copy");
      if (top) { event.preventDefault(); top.click(); }
    }
  });

  signedIn(Boolean(auth));
})();
