"use strict";
// The delivery editor: the preview follows the form (rendered by the server into the
// sandboxed frame, never into this page) and the target's size follows the lists and filter.

(() => {
  const form = document.getElementById("delivery-form");
  if (!form) {
    return;
  }
  const previewForm = document.getElementById("preview-form");
  const previewEmail = document.getElementById("preview-email");
  const previewView = document.getElementById("preview-view");
  const count = document.getElementById("target-count");
  const filterError = document.getElementById("filter-error");

  const later = (run, ms) => {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(run, ms);
    };
  };

  // A copy of the form's fields posted to the frame: form.submit() fires no submit event,
  // so the page's one-post-per-form guard leaves the editor's buttons alone.
  const preview = () => {
    for (const old of previewForm.querySelectorAll("[data-copied]")) {
      old.remove();
    }
    const fields = new FormData(form);
    fields.delete("csrf");
    fields.set("preview_email", previewEmail.value);
    fields.set("preview_view", previewView.value);
    for (const [name, value] of fields) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      input.dataset.copied = "";
      previewForm.append(input);
    }
    previewForm.submit();
  };

  const recount = async () => {
    const query = new URLSearchParams();
    for (const box of form.querySelectorAll('input[name="lists"]:checked')) {
      query.append("lists", box.value);
    }
    query.set("filter", form.elements.filter.value);
    if (!query.getAll("lists").length) {
      count.textContent = "Tick at least one list.";
      filterError.hidden = true;
      return;
    }
    const answer = await fetch(`${form.dataset.countUrl}?${query}`, { headers: { Accept: "application/json" } });
    // A refusal may not be ours (a 422 of the query's checks has `detail`, a proxy's error no
    // JSON at all): say what came back rather than read a count that is not there.
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok || typeof data.count !== "number") {
      count.textContent = "";
      filterError.textContent = data.error ?? data.detail?.[0]?.msg ?? data.title ?? `The count failed (${answer.status}).`;
      filterError.hidden = false;
    } else {
      filterError.hidden = true;
      count.textContent = `${data.count.toLocaleString("en")} profile(s) in the target now, before exclusions.`;
    }
  };

  const previewSoon = later(preview, 400);
  const recountSoon = later(recount, 300);
  form.addEventListener("input", (event) => {
    if (event.target.closest("[data-preview], [data-count]")) {
      previewSoon();
    }
    if (event.target.closest("[data-count]")) {
      recountSoon();
    }
  });
  previewEmail.addEventListener("change", preview);
  previewView.addEventListener("change", preview);

  preview();
  recount();
})();
