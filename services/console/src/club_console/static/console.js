// The console's only script: live parts of pages (the floor, pushed by the server as
// server-sent events) and countdowns to a deadline. Everything works without it, only
// less live: the pages are complete HTML from the server.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll("[data-live]")) {
    const source = new EventSource(element.dataset.live);
    source.addEventListener("floor", (event) => {
      // The server's own rendering of the part, from the service's answer.
      const fresh = new DOMParser().parseFromString(event.data, "text/html");
      element.replaceChildren(...fresh.body.childNodes);
      element.dataset.updated = String(Date.now());
    });
    source.addEventListener("signed-out", () => {
      source.close();
      window.location.reload(); // the server sends the person to sign in and back
    });
  }

  const countdowns = document.querySelectorAll("[data-due]");
  if (countdowns.length) {
    const tick = () => {
      const now = Date.now();
      for (const element of countdowns) {
        const left = Date.parse(element.dataset.due) - now;
        const minutes = Math.floor(Math.abs(left) / 60000);
        const text = `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
        element.textContent = left >= 0 ? text : `−${text}`;
        element.classList.toggle("late", left < 0);
      }
    };
    tick();
    setInterval(tick, 15000);
  }

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
