"use strict";
// A new delivery's (or recurring delivery's) time zone is the browser's own unless another is
// chosen: one default for every form that has a zone field marked data-browser-zone. Without
// script the field stays blank, which the server reads as UTC.

(() => {
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  for (const field of document.querySelectorAll("input[data-browser-zone]")) {
    if (!field.value) {
      field.value = browserZone;
    }
  }
})();
