// Several images at once: shrunk like single ones, sent in batches the server accepts (one request at a time),
// shown as a gallery with each image's count or error; a click opens one in the main view.
import { FriendlyError, busyMessage, retryWhenBusy } from "./api.js";
import { describeSlotError, planBatches, postImages } from "./batch-api.js";
import { saveJson } from "./save.js";
import { inOriginalPixels, prepareUpload } from "./shrink.js";

const $ = (id) => document.getElementById(id);

const gallery = {
  options: null,
  controller: null, // the run in progress
  items: [], // {file, element, record}
  urls: [],
};

/**
 * `options`: getRequest() -> {params, token}, getLimits() -> {maxBatch, maxBytes, uploadSide},
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
  gallery.items = files.map((file, index) => ({ file, element: galleryItem(file, index), record: null }));
  $("gallery-list").replaceChildren(...gallery.items.map((item) => item.element));
  $("gallery").hidden = false;
  $("gallery-download").disabled = true;
  $("gallery-title").focus();
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
  const uploads = new Map();
  for (const item of gallery.items) {
    const upload = await prepareUpload(item.file, uploadSide || Infinity);
    if (signal.aborted) return;
    uploads.set(item, upload ?? { blob: item.file, shrunk: false }); // undecodable here (TIFF): as it is
  }
  const blobs = gallery.items.map((item, index) => toFile(uploads.get(item).blob, item.file.name, index));
  const { batches, tooLarge } = planBatches(blobs, maxBatch, maxBytes);
  for (const blob of tooLarge) {
    setRecord(gallery.items[blob.index], { error: { status: 413, code: "request_too_large", message: "" } }, "");
  }
  for (const batch of batches) {
    const items = batch.map((blob) => gallery.items[blob.index]);
    const { params, token } = gallery.options.getRequest();
    try {
      const onBusy = (seconds) => ($("gallery-status").textContent = busyMessage(seconds)); // over this client's share
      const body = await retryWhenBusy(() => postImages(batch, { params, token, signal }), { signal, onBusy });
      body.responses.forEach((slot, index) => {
        const item = items[index];
        const mapped = slot.error ? slot : inOriginalPixels({ ...body, responses: [slot] }, uploads.get(item)).responses[0];
        setRecord(item, { model: body.model, ...mapped }, token);
      });
    } catch (error) {
      if (error.name === "AbortError") return;
      const message = error instanceof FriendlyError ? error.message : "Something went wrong in this page.";
      for (const item of items) setRecord(item, { error: { status: error.status ?? 0, message } }, token, message);
    }
    showProgress();
  }
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
