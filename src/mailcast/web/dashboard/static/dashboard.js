"use strict";
// Every page: dialogs opened and closed by buttons (HTML invoker commands, with a fallback
// for browsers that do not know them yet) and the quarantine's "select all" box.

if (!("commandForElement" in HTMLButtonElement.prototype)) {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[commandfor]");
    if (!button || button.disabled) {
      return;
    }
    const dialog = document.getElementById(button.getAttribute("commandfor"));
    if (!(dialog instanceof HTMLDialogElement)) {
      return;
    }
    const command = button.getAttribute("command");
    if (command === "show-modal") {
      dialog.showModal();
    } else if (command === "close") {
      dialog.close();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll('input[name="address"]')) {
        box.checked = all.checked;
      }
    });
  }
  // A form posts once: a second click while the first is on its way would repeat the action.
  for (const form of document.querySelectorAll('form[method="post"]')) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll('button[type="submit"]')) {
        button.disabled = true;
      }
    });
  }
});
