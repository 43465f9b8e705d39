"use strict";
// The CSV import: the file goes up with XMLHttpRequest so that a bar shows the upload's
// progress; the answer's result (counts, line errors) and lists then replace the page's own.
// Without this script the form posts as any other and the answer is the whole page.

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.id !== "import-form") {
    return;
  }
  event.preventDefault();
  const bar = document.getElementById("upload-progress");
  const text = document.getElementById("upload-text");
  const button = form.querySelector('button[type="submit"]');
  bar.hidden = false;
  bar.value = 0;
  button.disabled = true;
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.responseType = "document";
  request.upload.addEventListener("progress", (progress) => {
    if (progress.lengthComputable) {
      bar.value = Math.round((100 * progress.loaded) / progress.total);
      text.textContent = `Uploading: ${kilobytes(progress.loaded)} of ${kilobytes(progress.total)}`;
    }
  });
  request.upload.addEventListener("load", () => {
    bar.value = 100;
    text.textContent = "Uploaded: importing…";
  });
  request.addEventListener("load", () => {
    button.disabled = false;
    const answer = request.response;
    const main = answer && answer.querySelector("main");
    if (!main) {
      text.textContent =
        request.status === 413
          ? "The file is over the upload limit (web.max_upload_bytes): nothing was imported."
          : `The import failed (HTTP ${request.status}): nothing was imported.`;
      return;
    }
    text.textContent = request.status < 300 ? "Uploaded and imported." : "Not imported.";
    for (const id of ["import-result", "lists"]) {
      const mine = document.getElementById(id);
      const theirs = answer.getElementById(id);
      if (mine && theirs) {
        mine.replaceWith(theirs);
      }
    }
    const alerts = main.querySelectorAll(".alert.error");
    document.querySelectorAll("main > .alert.error").forEach((old) => old.remove());
    document.querySelector("main h1").after(...alerts);
  });
  request.addEventListener("error", () => {
    button.disabled = false;
    text.textContent = "The upload was interrupted: nothing was imported.";
  });
  request.send(new FormData(form));
});

function kilobytes(bytes) {
  return `${(bytes / 1024).toFixed(1)} kB`;
}
