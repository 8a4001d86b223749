// Before the page's modules have run, the page already looks usable: this small classic script (deferred, so it
// runs first) keeps what the person does meanwhile and app.js plays it back once it is ready. Nothing is lost:
// a click on a button is kept (the last one counts) and marked busy, a file chosen, dropped or pasted is kept.
// The drop zone opens the file picker at once: only a click the person made may open it.
"use strict";
(function () {
  const kept = { click: null, files: [] };
  let ready = false;

  function onClick(event) {
    if (ready) return;
    const button = event.target.closest("button");
    if (!button || button.disabled || button.closest("form")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (button.id === "drop-zone") {
      document.getElementById("file-input").click();
      return;
    }
    if (kept.click) kept.click.removeAttribute("aria-busy");
    kept.click = button;
    button.setAttribute("aria-busy", "true");
  }

  function keepFiles(files) {
    if (!ready && files && files.length) kept.files = Array.from(files);
  }

  document.addEventListener("click", onClick, true);
  document.addEventListener("dragover", (event) => ready || event.preventDefault()); // else the tab opens the file
  document.addEventListener("drop", (event) => {
    if (ready) return;
    event.preventDefault();
    keepFiles(event.dataTransfer && event.dataTransfer.files);
  });
  document.addEventListener("paste", (event) => ready || keepFiles(event.clipboardData && event.clipboardData.files));
  document.getElementById("file-input").addEventListener("change", (event) => keepFiles(event.target.files));

  // app.js calls this once its handlers are bound: `take(files)` gets kept files, a kept click is made again.
  window.earlyInput = {
    replay(take) {
      ready = true;
      document.removeEventListener("click", onClick, true);
      if (kept.files.length) take(kept.files);
      else if (kept.click) {
        kept.click.removeAttribute("aria-busy");
        kept.click.click();
      }
      kept.click = null;
      kept.files = [];
    },
  };
})();
