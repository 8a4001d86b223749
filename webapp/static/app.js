// The upload page: an image in, the API's detections drawn over it, re-asked whenever a slider moves.
import { FriendlyError, fetchModelInfo, predict, tooLargeMessage } from "./api.js";
import { bindSliders, readParams } from "./controls.js";
import { drawDetections, renderAnnotatedPng } from "./draw.js";
import { renderResults, clearResults } from "./results.js";
import { bindImageInputs } from "./picker.js";

const $ = (id) => document.getElementById(id);
const photo = $("photo");
const overlay = $("overlay");
const tokenInput = $("api-token"); // only present when the server needs a token
const TOKEN_KEY = "detection-api-token";

let sliderControl = { cancelPending: () => {} }; // set by bindSliders at start-up

const state = {
  file: null,
  fileUrl: "",
  browserCanShow: true, // false: the browser cannot decode it (e.g. TIFF), so the server draws the boxes
  result: null, // the last successful response body
  palette: [],
  sequence: 0, // only the newest request may update the page
  controller: null,
  highlight: -1,
};

/** body[data-status]: idle | busy | done | error (the tests and the CSS read it). */
function setStatus(status) {
  document.body.dataset.status = status;
  $("spinner").hidden = status !== "busy";
  $("frame").setAttribute("aria-busy", String(status === "busy"));
}

function showMessage(text) {
  const message = $("message");
  message.textContent = text;
  message.hidden = !text;
}

function currentToken() {
  return tokenInput ? tokenInput.value.trim() : "";
}

/** Answers to requests already sent no longer count: a new image is coming. */
function dropPendingAnswers() {
  sliderControl.cancelPending(); // the new image is sent with the sliders' current values anyway
  state.controller?.abort();
  state.sequence++;
}

/** Back to "no image": nothing shown, nothing to re-send. */
function forgetImage() {
  state.file = null;
  state.result = null;
  state.highlight = -1;
  clearResults();
  renderOverlay();
  $("stage").hidden = true;
  delete document.body.dataset.hasImage;
}

/** A new image: show it at once, then ask the API. */
async function loadFile(file) {
  dropPendingAnswers();
  showMessage("");
  const limit = Number(document.body.dataset.maxRequestBytes);
  if (limit && file.size >= limit) {
    forgetImage(); // sliders must not re-send the previous image and hide this message
    showMessage(tooLargeMessage(file.size, limit));
    setStatus("error");
    return;
  }
  state.file = file;
  state.result = null;
  state.highlight = -1;
  clearResults();
  renderOverlay();
  URL.revokeObjectURL(state.fileUrl);
  state.fileUrl = URL.createObjectURL(file);
  $("file-name").textContent = file.name || "Pasted image";
  photo.alt = `The chosen image, ${file.name || "pasted from the clipboard"}`;
  document.body.dataset.hasImage = "true";
  setStatus("busy");

  photo.src = state.fileUrl;
  let decoded = true;
  try {
    await photo.decode();
  } catch {
    decoded = false;
  }
  if (state.file !== file) return; // another image arrived meanwhile
  state.browserCanShow = decoded;
  $("stage").hidden = !decoded;
  runPrediction();
}

/** Ask the API with the current settings; a newer request cancels this one. */
async function runPrediction() {
  if (!state.file) return;
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  const sequence = ++state.sequence;
  setStatus("busy");
  try {
    const body = await predict({
      file: state.file,
      params: readParams(),
      token: currentToken(),
      annotate: !state.browserCanShow,
      signal: controller.signal,
    });
    if (sequence !== state.sequence) return;
    const { width, height } = body.responses[0].image;
    if (state.browserCanShow && (photo.naturalWidth !== width || photo.naturalHeight !== height)) {
      // The browser oriented or sized the picture differently: let the server draw the boxes instead.
      state.browserCanShow = false;
      runPrediction();
      return;
    }
    await showResult(body);
    if (sequence === state.sequence) setStatus("done");
  } catch (error) {
    if (error.name === "AbortError" || sequence !== state.sequence) return;
    showFailure(error);
  }
}

async function showResult(body) {
  state.result = body;
  const slot = body.responses[0];
  if (!state.browserCanShow) {
    photo.src = `data:image/png;base64,${slot.annotated_image}`;
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
  $("download-png").disabled = false;
  $("download-json").disabled = false;
}

function showFailure(error) {
  const text =
    error instanceof FriendlyError
      ? error.message
      : "Something went wrong in this page. Reload it and try again.";
  if (!(error instanceof FriendlyError)) console.warn(error);
  state.result = null;
  clearResults();
  renderOverlay();
  showMessage(text);
  setStatus("error");
  if (error.status === 401) tokenInput?.focus();
}

/** Fit the overlay on the displayed picture and draw the boxes at the picture's displayed scale. */
function renderOverlay() {
  const slot = state.result?.responses[0];
  const ctx = overlay.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  overlay.style.left = `${photo.offsetLeft}px`;
  overlay.style.top = `${photo.offsetTop}px`;
  overlay.style.width = `${photo.clientWidth}px`;
  overlay.style.height = `${photo.clientHeight}px`;
  overlay.width = Math.max(1, Math.round(photo.clientWidth * ratio));
  overlay.height = Math.max(1, Math.round(photo.clientHeight * ratio));
  ctx.clearRect(0, 0, overlay.width, overlay.height);
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

async function downloadPng() {
  const slot = state.result?.responses[0];
  if (!slot) return;
  try {
    const blob = state.browserCanShow
      ? await renderAnnotatedPng(photo, slot, state.palette)
      : base64ToBlob(slot.annotated_image, "image/png");
    saveBlob(blob, `${baseName()}-detections.png`);
  } catch (error) {
    console.warn(error);
    showMessage("The annotated image could not be made in this browser (it may be too large). Try the JSON instead.");
  }
}

function downloadJson() {
  if (!state.result) return;
  const blob = new Blob([JSON.stringify(state.result, null, 2)], { type: "application/json" });
  saveBlob(blob, `${baseName()}-detections.json`);
}

function baseName() {
  return (state.file?.name || "image").replace(/\.[^.]+$/, "") || "image";
}

function base64ToBlob(base64, type) {
  return new Blob([Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))], { type });
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

async function loadModelInfo() {
  try {
    const info = await fetchModelInfo();
    state.palette = info.palette ?? [];
    $("model-name").textContent = info.name;
    const size = info.input_size ? ` · input ${info.input_size.width}×${info.input_size.height}` : "";
    $("model-details").textContent = `${info.family} · ${info.num_classes} classes${size}`;
    if (state.result) await showResult(state.result); // redraw in the real colours
  } catch (error) {
    showMessage(error instanceof FriendlyError ? error.message : "The model's details could not be loaded.");
  }
}

function bindToken() {
  if (!tokenInput) return;
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  tokenInput.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));
  tokenInput.addEventListener("change", () => runPrediction());
  tokenInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") runPrediction();
  });
}

function main() {
  setStatus("idle");
  bindImageInputs(loadFile);
  sliderControl = bindSliders({
    onInput: () => state.file && setStatus("busy"), // results are stale until the next answer
    onSettled: runPrediction,
  });
  bindToken();
  $("download-png").addEventListener("click", downloadPng);
  $("download-json").addEventListener("click", downloadJson);
  new ResizeObserver(() => renderOverlay()).observe(photo);
  window.addEventListener("resize", () => renderOverlay()); // also catches zoom (devicePixelRatio) changes
  window.addEventListener("unhandledrejection", (event) => showFailure(event.reason ?? new Error("unknown")));
  loadModelInfo();
}

main();
