// Live pages of the Baton console (the server side is
// host/src/console/live.rs). A page whose <main> has data-live opens that
// event stream; on "changed" it fetches itself again and swaps in each
// element marked data-live-part. A part holding a form the user has typed
// into is left alone (nothing they wrote is lost) and a note offers a
// reload instead. Without JavaScript the pages are the same, only still.
(() => {
  "use strict";
  const main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource || !window.fetch) return;

  const typedInto = new WeakSet();
  document.addEventListener("input", (e) => {
    const form = e.target.closest && e.target.closest("form");
    if (form) typedInto.add(form);
  });

  const note = (text) => {
    let box = document.getElementById("live-note");
    if (!box) {
      box = document.createElement("p");
      box.id = "live-note";
      box.className = "live-note";
      box.setAttribute("role", "status");
      main.prepend(box);
    }
    box.textContent = text + " ";
    const again = document.createElement("a");
    again.href = location.href;
    again.textContent = "Reload";
    box.append(again);
  };

  const busy = (part) =>
    [...part.querySelectorAll("form")].some((f) => typedInto.has(f)) ||
    (part.contains(document.activeElement) &&
      document.activeElement.matches("input, textarea, select"));

  let source = null;
  let running = false;
  let again = false;
  let timer = null;

  const refresh = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      const res = await fetch(location.href, { credentials: "same-origin" });
      if (res.redirected || !res.ok) {
        source.close();
        note("This page is no longer live.");
        return;
      }
      const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
      let held = false;
      for (const part of document.querySelectorAll("[data-live-part]")) {
        const next = fresh.getElementById(part.id);
        if (!next) continue;
        if (busy(part)) { held = true; continue; }
        part.replaceWith(document.importNode(next, true));
      }
      if (held) note("This ticket changed while you were writing.");
      main.dataset.refreshed = String(Number(main.dataset.refreshed || 0) + 1);
    } catch (_) {
      // The server is away: the stream reconnects by itself and says
      // "changed" again when it is back.
    } finally {
      running = false;
      if (again) { again = false; schedule(); }
    }
  };

  // Several changes in a burst (a bot's steps) make one fetch.
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };

  source = new EventSource(main.dataset.live);
  source.addEventListener("changed", schedule);
  source.addEventListener("ended", () => {
    source.close();
    note("Your session ended; sign in again to follow this page.");
  });
})();
