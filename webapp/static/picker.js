// Getting an image into the page: the file picker, drag-and-drop anywhere, and paste.

/** Call `onFile(file)` for a file chosen, dropped or pasted. */
export function bindImageInputs(onFile) {
  const input = document.getElementById("file-input");
  const dropZone = document.getElementById("drop-zone");

  // A <button> opens the picker, so Enter and Space work like a click.
  dropZone.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files.length) onFile(input.files[0]);
    input.value = ""; // choosing the same file again still fires "change"
  });

  // The whole page is a drop target, so a near miss does not open the file in the tab.
  let depth = 0;
  const setDragging = (on) => document.body.classList.toggle("dragging", on);
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    depth += 1;
    setDragging(true);
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) setDragging(false);
  });
  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("drop", (event) => {
    depth = 0;
    setDragging(false);
    if (!hasFiles(event)) return;
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) onFile(file);
  });

  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    const file = files.find((candidate) => candidate.type.startsWith("image/")) ?? files[0];
    if (!file) return; // plain text, e.g. into the token box: leave it alone
    event.preventDefault();
    onFile(file);
  });
}

function hasFiles(event) {
  return Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes("Files");
}
