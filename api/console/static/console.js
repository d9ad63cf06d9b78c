// The console's progressive enhancement; every page works without it.
"use strict";

// A form sends once: its button is disabled as it goes (the server refuses a form sent
// twice anyway; this spares the user the message).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
});

// A job page follows its job: it polls the page's JSON twin and moves the progress bar,
// then goes to the plan. Without script, the page refreshes itself (a <noscript> refresh).
function followJob(box) {
  const bar = box.querySelector("progress");
  const status = box.querySelector("[data-status]");
  const poll = async () => {
    let job;
    try {
      const answer = await fetch(box.dataset.poll, { headers: { Accept: "application/json" } });
      if (!answer.ok) { window.location.reload(); return; }
      job = await answer.json();
    } catch (error) {
      setTimeout(poll, 2000);
      return;
    }
    if (job.total) { bar.max = job.total; bar.value = job.done; }
    if (status) status.textContent = job.label;
    if (job.next) { window.location.assign(job.next); return; }
    if (job.finished) { window.location.reload(); return; }
    setTimeout(poll, 500);
  };
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-poll]")) followJob(box);
});
