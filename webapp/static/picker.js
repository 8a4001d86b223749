// Getting an image into the page: the file picker, drag-and-drop anywhere, and paste.

/** Call `onFile(file)` for one file chosen, dropped or pasted, `onFiles(files)` for several at once. */
export function bindImageInputs(onFile, onFiles = (files) => onFile(files[0])) {
  const input = document.getElementById("file-input");
  const dropZone = document.getElementById("drop-zone");
  const take = (files) => (files.length > 1 ? onFiles(files) : files.length && onFile(files[0]));

  // A <button> opens the picker, so Enter and Space work like a click.
  dropZone.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    take([...input.files]);
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
    take([...event.dataTransfer.files]);
  });

  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    const images = files.filter((candidate) => candidate.type.startsWith("image/"));
    if (!files.length) return; // plain text, e.g. into the token box: leave it alone
    event.preventDefault();
    take(images.length ? images : files.slice(0, 1));
  });
}

function hasFiles(event) {
  return Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes("Files");
}
