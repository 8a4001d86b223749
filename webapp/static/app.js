// The upload page: an image in, the API's detections drawn over it, re-asked whenever a slider settles, and a
// preview while a slider is dragged (preview.js). Over 300 lines because it is the page's one state machine
// (image, request in flight, answer, preview, retry); each feature with a job of its own (camera, gallery, class
// filter, compare, snippets, shrinking, transfer, model details) is its own module.
import { FriendlyError, IMAGE_NOT_CACHED, busyMessage, predict, tooLargeMessage } from "./api.js";
import { bindCompare, clearCompare, comparedModel, drawCompare, refreshCompare } from "./compare.js";
import { bindSliders, fillModelPickers, selectedModel, sliderRanges } from "./controls.js";
import { chosenImageFormat } from "./download-format.js";
import { drawDetections, fitOverlay, renderAnnotatedImage } from "./draw.js";
import { describe, loadModels, modelsFailureText, modelsKnown, palette, showModelInHeader, titleOf } from "./model-info.js";
import { initPageFeatures, loadFiles, onImageShown, onModelInfo, onNewImage, onResult, onSettingsSettled } from "./page-features.js";
import { HIDEABLE, floorKey, floorParams, previewBody } from "./preview.js";
import { currentToken, requestParams } from "./request-params.js";
import { clearResults, renderResults } from "./results.js";
import { base64ToBlob, saveBlob, saveJson } from "./save.js";
import { bindImageInputs } from "./picker.js";
import { inOriginalPixels, prepareUpload, uploadSideFor } from "./shrink.js";
import { clearTransfer, resetProgress, showProgress, showTransfer } from "./transfer.js";

const $ = (id) => document.getElementById(id);
const photo = $("photo");
const overlay = $("overlay");
const tokenInput = $("api-token"); // only present when the server needs a token
const TOKEN_KEY = "detection-api-token";
const infoLocked = document.body.dataset.infoLocked === "true"; // model details only with the token

let sliderControl = { cancelPending: () => {} }; // set by bindSliders at start-up
let modelInfoLoaded = Promise.resolve(); // set by loadModelInfo

const state = {
  file: null, // the image as chosen
  imageId: 0, // counts images, so answers for an earlier one are known as such
  fileUrl: "",
  browserCanShow: true, // false: the browser cannot decode it (e.g. TIFF), so the server draws the boxes
  upload: null, // what is sent for `file`: prepareUpload's {blob, width, height, originalWidth, ..., shrunk}
  shown: Promise.resolve(false), // resolves to whether the browser could show `file`
  sha256: "", // the server's hash of upload.blob once it has answered: later requests send only this
  seenBy: new Set(), // the models that have answered for these bytes: those may be asked by sha256
  uploadSide: 0, // longest side worth sending, from the models' input sizes (0: unknown, send as is)
  result: null, // the answer drawn (boxes in the original's pixels); `preview: true` while a slider is dragged
  answeredKey: "", // the parameters of the newest server answer drawn
  sequence: 0, // only the newest request may update the page
  controller: null, // the request in flight (one at a time)
  askAgain: false, // the settings changed while a request was in flight
  highlight: -1,
  floors: new Map(), // floor answers for this image (server pixels), by floorKey
  floorAsked: new Set(), // floor keys asked for and not yet answered
  dragKey: "", // the floor key of the drag in progress ("" when none)
  retry: () => requestPrediction(), // what Retry does
};

/** body[data-status]: loading | idle | busy | preview | done | error (the tests and the CSS read it). */
function setStatus(status) {
  document.body.dataset.status = status;
  $("spinner").hidden = status !== "busy";
  $("frame").setAttribute("aria-busy", String(status === "busy"));
}

/** The message (or none); `retry`: true for Retry to ask again, or a function for Retry to call. */
function showMessage(text, { retry = false } = {}) {
  const message = $("message");
  message.textContent = text;
  message.hidden = !text;
  state.retry = typeof retry === "function" ? retry : () => requestPrediction();
  $("retry").hidden = !(text && retry);
}

function paramsKey(params) {
  return JSON.stringify(Object.entries(params).sort());
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
  state.imageId++;
  state.upload = null;
  state.sha256 = "";
  state.seenBy = new Set();
  state.result = null;
  state.answeredKey = "";
  state.highlight = -1;
  state.floors = new Map();
  state.floorAsked = new Set();
  state.dragKey = "";
  delete document.body.dataset.preview;
  clearResults();
  clearTransfer();
  clearCompare();
  renderOverlay();
}

/** Back to "no image": nothing shown, nothing to re-send. */
function forgetImage() {
  resetImage(null);
  $("stage").hidden = true;
  delete document.body.dataset.hasImage;
}

/** A new image: show it at once, shrink it for the model, then ask the API. */
async function loadFile(file, { caption = "" } = {}) {
  dropPendingAnswers();
  onNewImage();
  showMessage("");
  resetImage(file);
  URL.revokeObjectURL(state.fileUrl);
  state.fileUrl = URL.createObjectURL(file);
  $("file-name").textContent = file.name || "Pasted image";
  $("image-credit").textContent = caption ? ` · ${caption}` : "";
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
  const params = requestParams();
  setStatus("busy");
  resetProgress();
  try {
    const { body, elapsedMs, sentBytes } = await predictCurrentImage(params, controller.signal);
    if (sequence !== state.sequence) return;
    performance.mark("page:answer-received");
    const slot = body.responses[0];
    state.sha256 = slot.image.sha256 ?? "";
    state.seenBy.add(params.model ?? "");
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
    state.answeredKey = paramsKey(params);
    performance.mark("page:boxes-drawn");
    showTransfer({ elapsedMs, serverMs: body.timings_ms?.total, sentBytes, upload: state.upload });
    if (sequence === state.sequence && !state.askAgain && !state.dragKey) {
      setStatus("done");
      refreshCompare();
    }
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
 * The image by its sha256 when the chosen model has seen it (a few hundred bytes), else its bytes with upload
 * progress at once; a server that no longer has it gets the bytes too. Resolves to predict's answer plus the bytes sent.
 */
async function predictCurrentImage(params, signal) {
  const onBusy = (seconds) => showMessage(busyMessage(seconds)); // over this client's share: predict waits, retries
  const request = { params, token: currentToken(), annotate: !state.browserCanShow, signal, onBusy };
  if (state.sha256 && state.seenBy.has(params.model ?? "") && !request.annotate) {
    // (The server draws boxes only on bytes it has: an image the browser cannot show goes again each time.)
    try {
      return { ...(await predict({ ...request, sha256: state.sha256 })), sentBytes: 0 };
    } catch (error) {
      if (error.code !== IMAGE_NOT_CACHED) throw error;
      state.seenBy.clear(); // evicted, or another instance answered: send the bytes once more
    }
  }
  const answer = await predict({ ...request, file: uploadFile(), onProgress: showProgress });
  return { ...answer, sentBytes: state.upload.blob.size };
}

/** What is sent for the current image, as a File. */
function uploadFile() {
  const { blob } = state.upload;
  return blob instanceof File ? blob : new File([blob], shrunkName(), { type: blob.type });
}

function shrunkName() {
  return `${baseName()}-${state.upload.width}x${state.upload.height}.jpg`;
}

function sameSize(image, upload) {
  return image.width === upload.width && image.height === upload.height;
}

/** Draw `body` (boxes in the original's pixels): the server's answer, or a preview made from its floor answer. */
async function showResult(body) {
  state.result = body;
  const slot = body.responses[0];
  if (!state.browserCanShow && !body.preview) {
    photo.src = `data:${slot.annotated_image_type || "image/png"};base64,${slot.annotated_image}`;
    await photo.decode();
    $("stage").hidden = false;
  }
  document.body.dataset.preview = String(Boolean(body.preview));
  if (!body.preview) showMessage("");
  showModelInHeader(body.model);
  const count = slot.detections.length;
  $("main-label").textContent = `${titleOf(body.model)}: ${count === 1 ? "1 object" : `${count} objects`}`;
  renderOverlay();
  renderResults(body, palette(), {
    onHighlight: (index) => {
      state.highlight = index;
      renderOverlay();
    },
  });
  if (body.preview) return;
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

// --- a slider dragged: the floor answer asked once, then boxes hidden in the browser (see preview.js) ---

/**
 * A pointer took a slider: ask the server for the floor's answer, unless it is known or on its way. Only a slider
 * whose effect is hiding boxes has a preview (the overlap needs the server's merging: it waits for the release).
 */
function startDrag(param) {
  const model = requestParams().model ?? "";
  if (!HIDEABLE.includes(param) || !state.result || !state.sha256 || !state.seenBy.has(model)) return;
  if (!state.browserCanShow) return; // the server draws the boxes into the picture: nothing to hide here
  const floor = floorParams(requestParams(), param, sliderRanges());
  state.dragKey = floorKey(floor);
  if (!state.floors.has(state.dragKey) && !state.floorAsked.has(state.dragKey)) askFloor(floor, state.dragKey);
}

/** The dragged slider moved: the floor's answer, filtered to the values shown (until it comes: the boxes as they are). */
function drag() {
  if (!state.dragKey) {
    if (state.file) setStatus("busy"); // no answer to preview from: the boxes are stale until the release's answer
    return;
  }
  sliderControl.cancelPending();
  setStatus("preview");
  const floor = state.floors.get(state.dragKey);
  if (floor) showResult(inOriginalPixels(previewBody(floor, requestParams()), state.upload));
}

async function askFloor(params, key) {
  state.floorAsked.add(key);
  const imageId = state.imageId;
  try {
    const { body } = await predict({ params, token: currentToken(), sha256: state.sha256 });
    if (imageId !== state.imageId) return;
    state.floors.set(key, body);
    if (state.dragKey === key && document.body.dataset.status === "preview") drag();
  } catch (error) {
    // No preview for this drag; on release the exact answer is asked as usual (with the bytes if they were lost).
    if (error.code === IMAGE_NOT_CACHED && imageId === state.imageId) state.seenBy.clear();
  } finally {
    state.floorAsked.delete(key);
  }
}

/** The sliders settled (a drag released, or keys and scripts still for a moment): the server's exact answer. */
function settled() {
  const dragged = Boolean(state.dragKey);
  state.dragKey = "";
  const unchanged = paramsKey(requestParams()) === state.answeredKey;
  if (dragged && unchanged && !state.result?.preview && document.body.dataset.status === "done") return; // a press, no move
  requestPrediction();
  onSettingsSettled();
}

// --- drawing and downloads ---

/** Fit the overlay on the displayed picture and draw the boxes at the picture's displayed scale. */
function renderOverlay() {
  const slot = state.result?.responses[0];
  const ctx = fitOverlay(overlay, photo);
  const ratio = window.devicePixelRatio || 1;
  overlay.dataset.boxCount = String(slot ? slot.detections.length : 0);
  if (!slot || !state.browserCanShow) return; // no result, or the server's picture already shows the boxes
  drawDetections(ctx, slot.detections, {
    scale: overlay.width / slot.image.width,
    palette: palette(),
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
    if (state.browserCanShow) blob = await renderAnnotatedImage(photo, slot, palette(), type); // the full-resolution original
    else if (type === (slot.annotated_image_type || "image/png")) blob = base64ToBlob(slot.annotated_image, type);
    else blob = await renderAnnotatedImage(photo, { ...slot, detections: [] }, palette(), type); // the server's drawing
    saveBlob(blob, `${baseName()}-detections.${extension}`);
  } catch (error) {
    console.warn(error);
    showMessage("The image with its boxes could not be made in this browser (it may be too large). Try the JSON instead.");
  }
}

function downloadJson() {
  if (state.result) saveJson(state.result, `${baseName()}-detections.json`);
}

function baseName() {
  return (state.file?.name || "image").replace(/\.[^.]+$/, "") || "image";
}

// --- the models ---

/** The models' details; with INFO_REQUIRES_TOKEN only once a token is typed. */
async function loadModelInfo() {
  const token = currentToken();
  if (infoLocked && !token) {
    $("model-details").textContent = "";
    return;
  }
  try {
    const { models } = await loadModels(infoLocked ? token : "");
    fillModelPickers(models);
    const info = describe(selectedModel());
    onModelInfo(info);
    showModelInHeader(selectedModel() || info.name);
    // Big enough for every model the picker offers, so switching models never needs the photo shrunk again.
    const sizes = models.map((model) => model.input_size).filter(Boolean);
    if (sizes.length) state.uploadSide = uploadSideFor(sizes);
    if (state.result) await showResult(state.result); // redraw in the real colours
  } catch (error) {
    showMessage(modelsFailureText(error));
  }
}

/** Another model chosen: the header, the kinds of objects it knows; the sliders' handler asks again. */
function modelChanged() {
  const info = describe(selectedModel());
  if (!info) return;
  showModelInHeader(info.name);
  onModelInfo(info);
}

function bindToken() {
  if (!tokenInput) return;
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  tokenInput.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));
  let loading = null; // the models' details being asked for with the token typed
  const tokenGiven = () => {
    if (infoLocked && !modelsKnown() && !loading) {
      loading = loadModelInfo().finally(() => (loading = null));
      modelInfoLoaded = loading;
    }
    requestPrediction();
  };
  tokenInput.addEventListener("change", tokenGiven);
  tokenInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") tokenGiven();
  });
}

function main() {
  bindImageInputs(loadFile, loadFiles);
  initPageFeatures({ loadFile, ask: requestPrediction, showMessage });
  sliderControl = bindSliders({
    onInput: () => state.file && setStatus("busy"), // results are stale until the next answer
    onSettled: settled,
    onDragStart: startDrag,
    onDrag: drag,
  });
  bindCompare({
    getImage: () =>
      state.upload && state.sha256
        ? { id: state.imageId, upload: state.upload, sha256: state.sha256, seenBy: state.seenBy, url: state.fileUrl,
            file: uploadFile, canShow: state.browserCanShow } // fmt: skip
        : null,
    getParams: requestParams,
    getToken: currentToken,
    getPalette: palette,
    titleOf,
    onToggle: () => requestAnimationFrame(() => renderOverlay()),
  });
  $("model")?.addEventListener("change", modelChanged);
  bindToken();
  $("retry").addEventListener("click", () => {
    const retry = state.retry;
    showMessage("");
    retry();
  });
  $("download-image").addEventListener("click", downloadImage);
  $("download-json").addEventListener("click", downloadJson);
  new ResizeObserver(() => renderOverlay()).observe(photo);
  window.addEventListener("resize", () => {
    renderOverlay(); // also catches zoom (devicePixelRatio) changes
    drawCompare();
  });
  window.addEventListener("unhandledrejection", (event) => showFailure(event.reason ?? new Error("unknown")));
  modelInfoLoaded = loadModelInfo();
  setStatus("idle");
  // What was clicked, chosen, dropped or pasted before this module ran (early-input.js) happens now.
  window.earlyInput?.replay((files) => (files.length > 1 ? loadFiles(files) : loadFile(files[0])));
}

main();
