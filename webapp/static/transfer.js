// Feedback for slow networks: upload progress while the image goes up, then where the answer's time went.

const $ = (id) => document.getElementById(id);

/** A new request starts: nothing sent yet. */
export function resetProgress() {
  $("upload-progress").hidden = true;
  $("spinner-text").textContent = "Detecting…";
}

/** The upload has sent `sent` of `total` bytes (XMLHttpRequest's upload progress). */
export function showProgress(sent, total) {
  const progress = $("upload-progress");
  const uploading = total > 0 && sent < total;
  progress.hidden = !uploading;
  progress.max = total || 1;
  progress.value = sent;
  $("spinner-text").textContent = uploading ? `Sending ${kilobytes(sent)} of ${kilobytes(total)}…` : "Detecting…";
}

/**
 * Where the answer's time went: the server's own (its timings_ms.total), the rest is the network; and what was
 * sent (`sentBytes` 0: only the image's sha256).
 */
export function showTransfer({ elapsedMs, serverMs, sentBytes, upload }) {
  const parts = [`Answer in ${duration(elapsedMs)}`];
  if (serverMs !== undefined) {
    parts[0] += `: network ${duration(Math.max(0, elapsedMs - serverMs))}, server ${duration(serverMs)}.`;
  } else {
    parts[0] += ".";
  }
  if (!sentBytes) parts.push("Sent only the settings: the server still had the image.");
  else if (upload.shrunk) {
    parts.push(
      `Sent ${kilobytes(sentBytes)}: a ${upload.width}×${upload.height} copy of the ${upload.originalWidth}×${upload.originalHeight} original.`,
    );
  } else parts.push(`Sent ${kilobytes(sentBytes)}.`);
  const line = $("transfer");
  line.textContent = parts.join(" ");
  line.dataset.sentBytes = String(sentBytes);
  line.dataset.networkMs = String(Math.round(Math.max(0, elapsedMs - (serverMs ?? 0))));
  line.dataset.serverMs = String(Math.round(serverMs ?? 0));
  line.hidden = false;
}

export function clearTransfer() {
  const line = $("transfer");
  line.textContent = "";
  line.hidden = true;
}

function kilobytes(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function duration(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
