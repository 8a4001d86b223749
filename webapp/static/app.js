// The upload page: an image in, the API's detections drawn over it, re-asked whenever a slider moves.
// Over 300 lines because it is the page's one state machine (image, request in flight, answer, retry); each
// feature with a job of its own (camera, gallery, class filter, snippets, shrinking, transfer) is its own module.
import { FriendlyError, IMAGE_NOT_CACHED, busyMessage, fetchModelInfo, fetchModelList, predict, tooLargeMessage } from "./api.js";
import { bindSliders } from "./controls.js";
import { chosenImageFormat } from "./download-format.js";
import { drawDetections, fitOverlay, renderAnnotatedImage } from "./draw.js";
import { initPageFeatures, loadFiles, onImageShown, onModelInfo, onNewImage, onResult, onSettingsSettled } from "./page-features.js";
import { requestParams } from "./request-params.js";
import { renderResults, clearResults } from "./results.js";
import { base64ToBlob, saveBlob, saveJson } from "./save.js";
import { bindImageInputs } from "./picker.js";
import { inOriginalPixels, prepareUpload, uploadSideFor } from "./shrink.js";
import { clearTransfer, resetProgress, showProgress, showTransfer } from "./transfer.js";

const $ = (id) => document.getElementById(id);
const photo = $("photo");
const overlay = $("overlay");
const tokenInput = $("api-token"); // only present when the server needs a token
const TOKEN_KEY = "detection-api-token";

let sliderControl = { cancelPending: () => {} }; // set by bindSliders at start-up
let modelInfoLoaded = Promise.resolve(); // set by loadModelInfo at start-up

const state = {
  file: null, // the image as chosen
  fileUrl: "",
  browserCanShow: true, // false: the browser cannot decode it (e.g. TIFF), so the server draws the boxes
  upload: null, // what is sent for `file`: prepareUpload's {blob, width, height, originalWidth, ..., shrunk}
  shown: Promise.resolve(false), // resolves to whether the browser could show `file`
  sha256: "", // the server's hash of upload.blob once it has answered: later requests send only this
  uploadSide: 0, // longest side worth sending, from the model's input size (0: unknown, send as is)
  result: null, // the last successful response body, boxes in the original's pixels
  palette: [],
  sequence: 0, // only the newest request may update the page
  controller: null, // the request in flight (one at a time)
  askAgain: false, // the settings changed while a request was in flight
  highlight: -1,
};

/** body[data-status]: idle | busy | done | error (the tests and the CSS read it). */
function setStatus(status) {
  document.body.dataset.status = status;
  $("spinner").hidden = status !== "busy";
  $("frame").setAttribute("aria-busy", String(status === "busy"));
}

function showMessage(text, { retry = false } = {}) {
  const message = $("message");
  message.textContent = text;
  message.hidden = !text;
  $("retry").hidden = !(text && retry);
}

function currentToken() {
  return tokenInput ? tokenInput.value.trim() : "";
}

/** Answers to requests already sent no longer count: a new image is coming. */
function dropPendingAnswers() {
  sliderControl.cancelPending(); // the new image is sent with the sliders' current values anyway
  state.controller?.abort();
  state.controller = null;
  state.askAgain = false;
  state.sequence++;
}

/** `file` (or none) becomes the current image: nothing uploaded, answered or drawn for it yet. */
function resetImage(file) {
  state.file = file;
  state.upload = null;
  state.sha256 = "";
  state.result = null;
  state.highlight = -1;
  clearResults();
  clearTransfer();
  renderOverlay();
}

/** Back to "no image": nothing shown, nothing to re-send. */
function forgetImage() {
  resetImage(null);
  $("stage").hidden = true;
  delete document.body.dataset.hasImage;
}

/** A new image: show it at once, shrink it for the model, then ask the API. */
async function loadFile(file) {
  dropPendingAnswers();
  onNewImage();
  showMessage("");
  resetImage(file);
  URL.revokeObjectURL(state.fileUrl);
  state.fileUrl = URL.createObjectURL(file);
  $("file-name").textContent = file.name || "Pasted image";
  photo.alt = `The chosen image, ${file.name || "pasted from the clipboard"}`;
  document.body.dataset.hasImage = "true";
  setStatus("busy");

  performance.mark("page:image-chosen"); // marks for tools/bench_page_network.py and DevTools
  photo.src = state.fileUrl;
  // Shown while the upload is prepared and sent; the answer is drawn once it is.
  state.shown = photo.decode().then(
    () => true,
    () => false,
  );
  state.shown.then((shown) => {
    if (state.file !== file) return;
    $("stage").hidden = !shown; // (an image it cannot show appears once the server has drawn it)
    if (shown) onImageShown(photo);
  });
  await modelInfoLoaded;
  const upload = await prepareUpload(file, state.uploadSide || Infinity); // model unknown: measured, not shrunk
  if (state.file !== file) return; // another image arrived meanwhile
  performance.mark("page:upload-ready");
  // The browser cannot decode it (e.g. TIFF): send it as it is, and let the server draw the boxes.
  state.upload = upload ?? { blob: file, width: 0, height: 0, originalWidth: 0, originalHeight: 0, shrunk: false };
  state.browserCanShow = upload !== null;

  const limit = Number(document.body.dataset.maxRequestBytes);
  const size = state.upload.blob.size;
  if (limit && size >= limit) {
    forgetImage(); // sliders must not re-send the previous image and hide this message
    showMessage(tooLargeMessage(size, limit));
    setStatus("error");
    return;
  }
  requestPrediction();
}

/** Ask the API with the current settings; while a request is in flight, ask again once it is answered. */
function requestPrediction() {
  if (!state.file || !state.upload) return;
  setStatus("busy");
  if (state.controller) {
    state.askAgain = true; // one request at a time: the newest settings go next
    return;
  }
  sendPrediction();
}

async function sendPrediction() {
  const controller = new AbortController();
  state.controller = controller;
  state.askAgain = false;
  const sequence = ++state.sequence;
  setStatus("busy");
  resetProgress();
  try {
    const { body, elapsedMs, sentBytes } = await predictCurrentImage(controller.signal);
    if (sequence !== state.sequence) return;
    performance.mark("page:answer-received");
    const slot = body.responses[0];
    state.sha256 = slot.image.sha256 ?? "";
    const shown = await state.shown;
    if (sequence !== state.sequence) return;
    const sizeDiffers = !state.upload.shrunk && !sameSize(slot.image, state.upload);
    if (state.browserCanShow && (!shown || sizeDiffers)) {
      // The browser cannot show it after all, or oriented it differently: let the server draw the boxes.
      state.browserCanShow = false;
      state.askAgain = true;
      return;
    }
    await showResult(inOriginalPixels(body, state.upload));
    performance.mark("page:boxes-drawn");
    showTransfer({ elapsedMs, serverMs: body.timings_ms?.total, sentBytes, upload: state.upload });
    if (sequence === state.sequence && !state.askAgain) setStatus("done");
  } catch (error) {
    if (error.name === "AbortError" || sequence !== state.sequence) return;
    state.askAgain = false; // the error is about the newest settings too
    showFailure(error);
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      if (state.askAgain) sendPrediction();
    }
  }
}

/**
 * The image by its sha256 when the server has seen it (a few hundred bytes), else its bytes with upload progress;
 * a server that no longer has it gets the bytes at once. Resolves to predict's answer plus the bytes sent.
 */
async function predictCurrentImage(signal) {
  const onBusy = (seconds) => showMessage(busyMessage(seconds)); // over this client's share: predict waits, retries
  const request = { params: requestParams(), token: currentToken(), annotate: !state.browserCanShow, signal, onBusy };
  if (state.sha256 && !request.annotate) {
    // (The server draws boxes only on bytes it has: an image the browser cannot show goes again each time.)
    try {
      return { ...(await predict({ ...request, sha256: state.sha256 })), sentBytes: 0 };
    } catch (error) {
      if (error.code !== IMAGE_NOT_CACHED) throw error;
      state.sha256 = ""; // evicted, or another instance answered: send the bytes once more
    }
  }
  const { blob } = state.upload;
  const file = blob instanceof File ? blob : new File([blob], shrunkName(), { type: blob.type });
  const answer = await predict({ ...request, file, onProgress: showProgress });
  return { ...answer, sentBytes: blob.size };
}

function shrunkName() {
  return `${baseName()}-${state.upload.width}x${state.upload.height}.jpg`;
}

function sameSize(image, upload) {
  return image.width === upload.width && image.height === upload.height;
}

async function showResult(body) {
  state.result = body;
  const slot = body.responses[0];
  if (!state.browserCanShow) {
    photo.src = `data:${slot.annotated_image_type || "image/png"};base64,${slot.annotated_image}`;
    await photo.decode();
    $("stage").hidden = false;
  }
  showMessage("");
  $("model-name").textContent = body.model;
  renderOverlay();
  renderResults(body, state.palette, {
    onHighlight: (index) => {
      state.highlight = index;
      renderOverlay();
    },
  });
  onResult(body);
  $("download-image").disabled = false;
  $("download-json").disabled = false;
}

/** The error in words, with Retry when trying again may help; the previous result stays, greyed. */
function showFailure(error) {
  const text =
    error instanceof FriendlyError
      ? error.message
      : "Something went wrong in this page. Reload it and try again.";
  if (!(error instanceof FriendlyError)) console.warn(error);
  showMessage(text, { retry: Boolean(state.upload) && mayHelpToRetry(error) });
  setStatus("error");
  if (error.status === 401) tokenInput?.focus();
}

/** Network failures, busy or failing servers and tokens can change; a file the server cannot read cannot. */
function mayHelpToRetry(error) {
  const status = error.status ?? 0;
  return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500;
}

/** Fit the overlay on the displayed picture and draw the boxes at the picture's displayed scale. */
function renderOverlay() {
  const slot = state.result?.responses[0];
  const ctx = fitOverlay(overlay, photo);
  const ratio = window.devicePixelRatio || 1;
  overlay.dataset.boxCount = String(slot ? slot.detections.length : 0);
  if (!slot || !state.browserCanShow) return; // no result, or the server's PNG already shows the boxes
  drawDetections(ctx, slot.detections, {
    scale: overlay.width / slot.image.width,
    palette: state.palette,
    lineWidth: 2 * ratio,
    fontSize: 12 * ratio,
    highlight: state.highlight,
  });
}

async function downloadImage() {
  const slot = state.result?.responses[0];
  if (!slot) return;
  try {
    const { type, extension } = chosenImageFormat();
    let blob;
    if (state.browserCanShow) blob = await renderAnnotatedImage(photo, slot, state.palette, type); // the full-resolution original
    else if (type === (slot.annotated_image_type || "image/png")) blob = base64ToBlob(slot.annotated_image, type);
    else blob = await renderAnnotatedImage(photo, { ...slot, detections: [] }, state.palette, type); // the server's drawing
    saveBlob(blob, `${baseName()}-detections.${extension}`);
  } catch (error) {
    console.warn(error);
    showMessage("The annotated image could not be made in this browser (it may be too large). Try the JSON instead.");
  }
}

function downloadJson() {
  if (state.result) saveJson(state.result, `${baseName()}-detections.json`);
}

function baseName() {
  return (state.file?.name || "image").replace(/\.[^.]+$/, "") || "image";
}

async function loadModelInfo() {
  try {
    const [info, models] = await Promise.all([fetchModelInfo(), fetchModelList()]);
    state.palette = info.palette ?? [];
    onModelInfo(info);
    $("model-name").textContent = info.name;
    const size = info.input_size ? ` · input ${info.input_size.width}×${info.input_size.height}` : "";
    $("model-details").textContent = `${info.family} · ${info.num_classes} classes${size}`;
    // Big enough for every model the picker offers, so switching models never needs the photo shrunk again.
    const sizes = models.map((model) => model.input_size).filter(Boolean);
    if (info.input_size) sizes.push(info.input_size);
    if (sizes.length) state.uploadSide = uploadSideFor(sizes);
    if (state.result) await showResult(state.result); // redraw in the real colours
  } catch (error) {
    showMessage(error instanceof FriendlyError ? error.message : "The model's details could not be loaded.");
  }
}

function bindToken() {
  if (!tokenInput) return;
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  tokenInput.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));
  tokenInput.addEventListener("change", () => requestPrediction());
  tokenInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") requestPrediction();
  });
}

function main() {
  setStatus("idle");
  bindImageInputs(loadFile, loadFiles);
  initPageFeatures({ loadFile, ask: requestPrediction, showMessage });
  sliderControl = bindSliders({
    onInput: () => state.file && setStatus("busy"), // results are stale until the next answer
    onSettled: () => {
      requestPrediction();
      onSettingsSettled();
    },
  });
  bindToken();
  $("retry").addEventListener("click", () => {
    showMessage("");
    requestPrediction();
  });
  $("download-image").addEventListener("click", downloadImage);
  $("download-json").addEventListener("click", downloadJson);
  new ResizeObserver(() => renderOverlay()).observe(photo);
  window.addEventListener("resize", () => renderOverlay()); // also catches zoom (devicePixelRatio) changes
  window.addEventListener("unhandledrejection", (event) => showFailure(event.reason ?? new Error("unknown")));
  modelInfoLoaded = loadModelInfo();
}

main();
