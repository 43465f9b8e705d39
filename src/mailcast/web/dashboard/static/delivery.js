"use strict";
// The Deployment block follows the send live: it reads the block's JSON every second while
// the delivery is being prepared or sent (every ten seconds while feedback may still come),
// and reloads the page when the state changes, so that the buttons match the new state.

(() => {
  const block = document.getElementById("deployment");
  if (!block) {
    return;
  }
  const FAST = new Set(["preparing", "sending"]);
  const SLOW = new Set(["scheduled", "paused", "sent"]);
  const shownState = block.dataset.state;
  const shownLabel = block.dataset.label;
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");

  const format = (value, unit) => (unit === "%" ? `${Number(value.toFixed(2))} %` : String(value));

  const show = (data) => {
    progress.value = data.progress;
    progressText.textContent = format(data.progress, "%");
    for (const cell of block.querySelectorAll("[data-kpi]")) {
      cell.textContent = format(data[cell.dataset.kpi], cell.dataset.unit);
    }
  };

  const delay = (state) => (FAST.has(state) ? 1000 : SLOW.has(state) ? 10000 : null);

  const poll = async () => {
    let state = shownState;
    let label = shownLabel;
    try {
      const response = await fetch(block.dataset.url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.status === 401) {
        window.location.reload(); // the session ended: the reload shows the login page
        return;
      }
      if (response.ok) {
        const data = await response.json();
        show(data);
        state = data.state;
        label = data.label;
      }
    } catch (_error) {
      // A network blip: the next poll tries again.
    }
    if (state !== shownState || label !== shownLabel) {
      window.location.reload();
      return;
    }
    const next = delay(state);
    if (next !== null) {
      window.setTimeout(poll, next);
    }
  };

  const first = delay(shownState);
  if (first !== null) {
    window.setTimeout(poll, Math.min(first, 1000));
  }
})();
