"use strict";
// The delivery page follows the send live: every second while the delivery is being prepared
// or sent (every ten seconds while feedback may still come) it fetches the page's figures
// (Deployment block, charts, log) as one server-rendered fragment, read from one snapshot,
// and swaps them in whole, so that the cards, the funnel and the log always agree. It reloads
// the page when the state changes, so that the buttons match the new state.

(() => {
  const figures = document.getElementById("figures");
  const block = document.getElementById("deployment");
  if (!figures || !block) {
    return;
  }
  const FAST = new Set(["preparing", "sending"]);
  const SLOW = new Set(["scheduled", "paused", "sent"]);
  const shownState = block.dataset.state;
  const shownLabel = block.dataset.label;

  const delay = (state) => (FAST.has(state) ? 1000 : SLOW.has(state) ? 10000 : null);

  const poll = async () => {
    let state = shownState;
    let label = shownLabel;
    try {
      const response = await fetch(figures.dataset.url, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (response.redirected || response.status === 401) {
        window.location.reload(); // the session ended: the reload shows the login page
        return;
      }
      if (response.ok) {
        const fresh = document.createElement("template");
        fresh.innerHTML = await response.text();
        const next = fresh.content.getElementById("deployment");
        if (next) {
          state = next.dataset.state;
          label = next.dataset.label;
          figures.replaceChildren(fresh.content);
        }
      }
    } catch (_error) {
      // A network blip: the next poll tries again.
    }
    if (state !== shownState || label !== shownLabel) {
      window.location.reload();
      return;
    }
    const wait = delay(state);
    if (wait !== null) {
      window.setTimeout(poll, wait);
    }
  };

  const first = delay(shownState);
  if (first !== null) {
    window.setTimeout(poll, Math.min(first, 1000));
  }
})();
