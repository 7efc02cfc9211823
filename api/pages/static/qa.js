// QA page: follow a running evaluation (progress without reloading), and upload a reply export.
// The forms that start and stop runs are plain forms and work without this; the upload needs it (the body is the
// file itself, sent with the session's CSRF token in a header). Text from the server goes in with textContent.
"use strict";

(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const POLL_MS = 1000;

  // --- a running job: poll /qa/jobs, show its progress, reload when it has finished ---------------------
  const current = document.getElementById("job-current");
  if (current) {
    const id = current.dataset.job;
    const bar = document.getElementById("job-progress");
    const status = document.getElementById("job-status");
    const poll = async () => {
      try {
        const response = await fetch("/qa/jobs", { headers: { "Accept": "application/json" },
                                                   credentials: "same-origin" });
        if (!response.ok) throw new Error("status " + response.status);
        const body = await response.json();
        const job = body.current;
        if (!job || job.id !== id) {  // finished (done, failed or stopped): the page shows how
          window.location.reload();
          return;
        }
        bar.max = job.total || 1;
        bar.value = job.done;
        bar.textContent = job.percent + "%";
        status.textContent = (job.phase_label || "voorbereiden") + ": " + job.done + " van " + job.total +
          (job.cancel_requested ? " · wordt gestopt…" : "");
        current.dataset.done = String(job.done);
      } catch (e) {
        status.textContent = "Voortgang niet op te halen (" + e.message + "); vernieuw de pagina.";
      }
      window.setTimeout(poll, POLL_MS);
    };
    window.setTimeout(poll, POLL_MS);
  }

  // --- upload an export: the file is the request body ---------------------------------------------------
  const upload = document.getElementById("upload-form");
  if (upload) {
    const errorBox = document.getElementById("upload-error");
    upload.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = document.getElementById("upload-file").files[0];
      if (!file) return;
      const button = upload.querySelector("button[type=submit]");
      button.disabled = true;
      errorBox.hidden = true;
      const period = document.getElementById("upload-period").value;
      try {
        const response = await fetch(upload.dataset.action + (period ? "?period=" + encodeURIComponent(period) : ""), {
          method: "POST",
          body: file,
          headers: { "X-CSRF-Token": csrf(), "Accept": "application/json", "Content-Type": "text/csv",
                     "X-Filename": encodeURIComponent(file.name) },
          credentials: "same-origin",
        });
        if (response.ok) {
          window.location.replace("/qa");  // the page now shows the run and its progress
          return;
        }
        let message = "Fout " + response.status;
        try {
          const body = await response.json();
          message = (body.error && body.error.message) || message;
        } catch (e) { /* not JSON: keep the status */ }
        if (response.status === 413) message = "Het bestand is te groot: " + message;
        if (response.status === 409) message = "Er loopt al een evaluatie: wacht tot die klaar is, of stop hem.";
        errorBox.textContent = message;
        errorBox.hidden = false;
      } catch (e) {
        errorBox.textContent = "Uploaden mislukt: " + e.message;
        errorBox.hidden = false;
      }
      button.disabled = false;
    });
  }
})();
