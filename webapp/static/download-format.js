// The annotated image's format for download: JPEG (small, for photos) or PNG (lossless), as chosen.

const EXTENSIONS = { "image/jpeg": "jpg", "image/png": "png" };

/** {type, extension} of the format chosen next to the download button. */
export function chosenImageFormat() {
  const type = document.getElementById("download-format").value;
  return { type, extension: EXTENSIONS[type] ?? "png" };
}
