// Several images at once: shrunk like single ones, sent in batches the server accepts (one request at a time),
// shown as a gallery with each image's count or error; a click opens one in the main view. When the settings
// change, every image is asked again by its sha256 (a few hundred bytes per batch), its bytes only if the server
// no longer has it.
import { FriendlyError, IMAGE_NOT_CACHED, busyMessage, retryWhenBusy } from "./api.js";
import { describeSlotError, planBatches, postImages } from "./batch-api.js";
import { drawDetections } from "./draw.js";
import { saveJson } from "./save.js";
import { inOriginalPixels, prepareUpload } from "./shrink.js";

const $ = (id) => document.getElementById(id);

const gallery = {
  options: null,
  controller: null, // the run in progress
  items: [], // {file, element, record, upload (shrunk blob and its scale), sha256 (once the server has it)}
  urls: [],
};

/**
 * `options`: getRequest() -> {params, token}, getPalette(), getLimits() -> {maxBatch, maxBytes, uploadSide},
 * onOpen(file) shows one image in the main view.
 */
export function bindGallery(options) {
  gallery.options = options;
  $("gallery-download").addEventListener("click", downloadAll);
  $("gallery-close").addEventListener("click", closeGallery);
}

/** Show `files` as a gallery and ask the server about all of them. */
export async function showGallery(files) {
  closeGallery();
  const controller = new AbortController();
  gallery.controller = controller;
  gallery.items = files.map((file, index) => ({ file, element: galleryItem(file, index), record: null, sha256: "" }));
  $("gallery-list").replaceChildren(...gallery.items.map((item) => item.element));
  $("gallery").hidden = false;
  $("gallery-title").focus();
  await run(controller);
}

/** The settings changed: ask again for every image of an open gallery with the new ones. */
export async function refreshGallery() {
  if ($("gallery").hidden || !gallery.items.length) return;
  gallery.controller?.abort(); // the newest settings win
  const controller = new AbortController();
  gallery.controller = controller;
  for (const item of gallery.items) {
    item.record = null;
    item.element.dataset.state = "waiting";
    item.element.querySelector(".gallery-status").textContent = "Updating…";
  }
  await run(controller);
}

async function run(controller) {
  $("gallery-download").disabled = true;
  await detectAll(controller.signal);
  if (controller.signal.aborted) return;
  $("gallery-download").disabled = false;
  showProgress();
}

function closeGallery() {
  gallery.controller?.abort();
  gallery.urls.forEach((url) => URL.revokeObjectURL(url));
  gallery.urls = [];
  gallery.items = [];
  $("gallery-list").replaceChildren();
  $("gallery").hidden = true;
}

async function detectAll(signal) {
  const { maxBatch, maxBytes, uploadSide } = gallery.options.getLimits();
  showProgress();
  // Shrunk first (as a single image would be), so a batch carries what the model can use and no more.
  for (const item of gallery.items) {
    if (item.upload) continue; // shrunk on the first run
    const upload = await prepareUpload(item.file, uploadSide || Infinity);
    if (signal.aborted) return;
    item.upload = upload ?? { blob: item.file, shrunk: false }; // undecodable here (TIFF): as it is
  }
  // Images the server has seen go by sha256; those it no longer has come back unanswered and go as bytes next.
  const known = gallery.items.filter((item) => item.sha256);
  for (let start = 0; start < known.length; start += maxBatch) {
    const items = known.slice(start, start + maxBatch);
    if (!(await send(items, items.map((item) => ({ sha256: item.sha256 })), signal))) return;
  }
  const blobs = gallery.items.flatMap((item, index) => (item.record ? [] : [toFile(item.upload.blob, item.file.name, index)]));
  const { batches, tooLarge } = planBatches(blobs, maxBatch, maxBytes);
  for (const blob of tooLarge) {
    setRecord(gallery.items[blob.index], { error: { status: 413, code: "request_too_large", message: "" } }, "");
  }
  for (const batch of batches) {
    if (!(await send(batch.map((blob) => gallery.items[blob.index]), batch, signal))) return;
  }
}

/** One request for `items` (sent as `entries`: their files or sha256s); false when the run was abandoned. */
async function send(items, entries, signal) {
  const { params, token } = gallery.options.getRequest();
  try {
    const onBusy = (seconds) => ($("gallery-status").textContent = busyMessage(seconds)); // over this client's share
    const body = await retryWhenBusy(() => postImages(entries, { params, token, signal }), { signal, onBusy });
    body.responses.forEach((slot, index) => {
      const item = items[index];
      if (slot.error?.code === IMAGE_NOT_CACHED) {
        item.sha256 = ""; // evicted, or another instance answered: its bytes go in the next pass
        return;
      }
      item.sha256 = slot.image?.sha256 ?? item.sha256;
      const mapped = slot.error ? slot : inOriginalPixels({ ...body, responses: [slot] }, item.upload).responses[0];
      setRecord(item, { model: body.model, ...mapped }, token);
    });
  } catch (error) {
    if (error.name === "AbortError") return false;
    const message = error instanceof FriendlyError ? error.message : "Something went wrong in this page.";
    for (const item of items) setRecord(item, { error: { status: error.status ?? 0, message } }, token, message);
  }
  showProgress();
  return !signal.aborted;
}

/** The upload as a File that remembers its place in the gallery. */
function toFile(blob, name, index) {
  const file = blob instanceof File ? blob : new File([blob], name, { type: blob.type });
  return Object.assign(file, { index });
}

function setRecord(item, record, token, text) {
  item.record = { file: item.file.name, ...record };
  const status = item.element.querySelector(".gallery-status");
  if (record.error) {
    item.element.dataset.state = "error";
    status.textContent = text ?? describeSlotError(record.error, Boolean(token));
    return;
  }
  const count = record.detections.length;
  drawThumbnail(item, record);
  item.element.dataset.state = "done";
  item.element.dataset.count = String(count);
  status.textContent = count === 1 ? "1 object" : `${count} objects`;
}

function galleryItem(file, index) {
  const element = document.createElement("li");
  element.className = "gallery-item";
  element.dataset.state = "waiting";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "gallery-open";
  const url = URL.createObjectURL(file);
  gallery.urls.push(url);
  const thumbnail = document.createElement("img");
  thumbnail.className = "thumbnail";
  thumbnail.alt = "";
  thumbnail.decoding = "async";
  thumbnail.loading = "lazy";
  thumbnail.src = url;
  thumbnail.addEventListener("error", () => thumbnail.replaceWith(noPreview()), { once: true });
  const name = document.createElement("span");
  name.className = "gallery-name";
  name.textContent = file.name || `Image ${index + 1}`;
  const status = document.createElement("span");
  status.className = "gallery-status";
  status.textContent = "Waiting…";
  button.append(thumbnail, name, status);
  button.addEventListener("click", () => gallery.options.onOpen(file));
  element.append(button);
  return element;
}

const THUMBNAIL_SIDE = 240; // canvas pixels of the longer side: sharp at the gallery's size on 2x screens

/** The item's picture with its boxes (no labels at this size), in place of the plain thumbnail. */
async function drawThumbnail(item, record) {
  const old = item.element.querySelector(".thumbnail");
  if (!old) return; // no preview: the browser cannot show this file
  let bitmap;
  try {
    bitmap = await createImageBitmap(item.upload.blob, { imageOrientation: "from-image" });
  } catch {
    return;
  }
  const scale = THUMBNAIL_SIDE / Math.max(bitmap.width, bitmap.height);
  const canvas = document.createElement("canvas");
  canvas.className = "thumbnail";
  canvas.setAttribute("aria-hidden", "true");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  drawDetections(ctx, record.detections, {
    scale: canvas.width / record.image.width,
    palette: gallery.options.getPalette(),
    lineWidth: 2,
    fontSize: 10,
    labels: false,
  });
  if (old.isConnected) old.replaceWith(canvas);
}

function noPreview() {
  const placeholder = document.createElement("span");
  placeholder.className = "no-preview";
  placeholder.textContent = "No preview";
  return placeholder;
}

function showProgress() {
  const total = gallery.items.length;
  const done = gallery.items.filter((item) => item.record).length;
  const failed = gallery.items.filter((item) => item.record?.error).length;
  const errors = failed ? `, ${failed} with errors` : "";
  $("gallery-status").textContent =
    done < total ? `Detecting… ${done} of ${total} images done${errors}.` : `${total} images: ${total - failed} done${errors}.`;
  $("gallery").dataset.done = String(done);
}

/** Every image's record (the server's result, boxes in the original's pixels, or its error) in one file. */
function downloadAll() {
  const records = gallery.items.map((item) => item.record ?? { file: item.file.name, error: { message: "not asked" } });
  saveJson(records, "detections.json");
}
