// Files the page hands to the user: a Blob saved through a temporary link.

/** Save `blob` as a download called `name`. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** Save `value` as indented JSON. */
export function saveJson(value, name) {
  saveBlob(new Blob([JSON.stringify(value, null, 2)], { type: "application/json" }), name);
}

/** A Blob of `type` from base64 text (the server's annotated image). */
export function base64ToBlob(base64, type) {
  return new Blob([Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))], { type });
}
