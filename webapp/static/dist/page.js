// webapp/static/api.js
var PREDICT_URL = "api/predict";
var MODEL_URL = "api/model";
var MODELS_URL = "api/models";
var UNREACHABLE = "The server cannot be reached. Check that it is running and that you are online, then try again.";
var CODE_MESSAGES = {
  unsupported_image: "That file is not an image we can read (JPEG, PNG, WebP, BMP, GIF or TIFF).",
  corrupt_image: "That image file is damaged or incomplete, so it cannot be read. Try another copy of it.",
  empty_image: "That file is empty. Choose an image file instead.",
  image_too_large: "That image has too many pixels for this server. Try a smaller version of it.",
  image_too_small: "That image is too small to look for objects in.",
  model_not_ready: "The model is still loading. Try again in a few seconds."
};
var IMAGE_NOT_CACHED = "image_not_cached";
var FriendlyError = class extends Error {
  constructor(message, { status = 0, code = "", retryAfterS = 0 } = {}) {
    super(message);
    this.name = "FriendlyError";
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
};
var BUSY_RETRIES = 4;
var BUSY_MAX_WAIT_S = 60;
function retryAfterSeconds(header) {
  if (!header) return 0;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1e3;
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 0;
}
function busyMessage(seconds) {
  return `The server is busy, retrying in ${seconds} s…`;
}
function infoHeaders(token) {
  return token ? { Accept: "application/json", "X-Api-Token": token } : { Accept: "application/json" };
}
async function fetchModelInfo(token = "") {
  let response;
  try {
    response = await fetch(MODEL_URL, { headers: infoHeaders(token) });
  } catch {
    throw new FriendlyError(UNREACHABLE);
  }
  const body = await readJson(response);
  if (!response.ok || !body) {
    throw new FriendlyError(describeFailure(response.status, body?.error, Boolean(token)), { status: response.status });
  }
  return body;
}
async function fetchModelList(token = "") {
  try {
    const response = await fetch(MODELS_URL, { headers: infoHeaders(token) });
    const body = response.ok ? await readJson(response) : null;
    return body?.models ?? [];
  } catch {
    return [];
  }
}
async function predict(request) {
  return retryWhenBusy(() => predictOnce(request), request);
}
async function retryWhenBusy(send2, { signal, onBusy } = {}) {
  let waitS = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send2();
    } catch (error) {
      if (error.status !== 429 || attempt >= BUSY_RETRIES) throw error;
      waitS = Math.min(BUSY_MAX_WAIT_S, Math.max(error.retryAfterS || 1, waitS * 2));
      await countDown(waitS, onBusy, signal);
    }
  }
}
function countDown(seconds, onTick, signal) {
  return new Promise((resolve, reject) => {
    let left = seconds;
    const tick = () => {
      if (left <= 0) return finish(resolve);
      onTick?.(left);
      left -= 1;
      timer = setTimeout(tick, 1e3);
    };
    const onAbort = () => finish(() => reject(new DOMException("The request was cancelled", "AbortError")));
    const finish = (settle) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    let timer = 0;
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    tick();
  });
}
async function predictOnce({ file, sha256, params, token, annotate, signal, onProgress }) {
  const form = new FormData();
  for (const [name, value] of Object.entries(params)) form.append(name, String(value));
  if (annotate) form.append("annotate", "true");
  if (sha256) form.append("image_sha256", sha256);
  else form.append("image", file, file.name || "pasted-image");
  const headers = { Accept: "application/json" };
  if (token) headers["X-Api-Token"] = token;
  const { status, body, elapsedMs, retryAfterS } = await postWithProgress(form, headers, signal, onProgress);
  const slot = body?.responses?.[0];
  const error = body?.error ?? slot?.error;
  if (status < 200 || status > 299 || !slot || error) {
    const code = error?.code ?? "";
    const shownStatus = error?.status ?? status;
    const details = { status: shownStatus, code, retryAfterS };
    throw new FriendlyError(describeFailure(shownStatus, error, Boolean(token)), details);
  }
  return { body, elapsedMs };
}
function postWithProgress(form, headers, signal, onProgress) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException("The request was cancelled", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", PREDICT_URL);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.total));
    const onAbort = () => xhr.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const finished = () => signal?.removeEventListener("abort", onAbort);
    let sentAt = 0;
    xhr.addEventListener("load", () => {
      finished();
      const retryAfterS = retryAfterSeconds(xhr.getResponseHeader("Retry-After"));
      resolve({ status: xhr.status, body: parseJson(xhr.responseText), elapsedMs: performance.now() - sentAt, retryAfterS });
    });
    xhr.addEventListener("error", () => {
      finished();
      reject(new FriendlyError(UNREACHABLE));
    });
    xhr.addEventListener("abort", () => {
      finished();
      reject(new DOMException("The request was cancelled", "AbortError"));
    });
    sentAt = performance.now();
    xhr.send(form);
  });
}
function tooLargeMessage(size, limit) {
  return `That file is ${megabytes(size)}; this server accepts up to ${megabytes(limit)}. Try a smaller image.`;
}
function describeFailure(status, error, tokenSent) {
  const code = error?.code ?? "";
  if (CODE_MESSAGES[code]) return CODE_MESSAGES[code];
  if (status === 401) {
    return tokenSent ? "The server did not accept that API token. Check it and try again." : "This server needs an API token. Type it in the “API token” box at the top, then try again.";
  }
  if (status === 413) return "That file is too large for this server. Try a smaller image.";
  if (code === "invalid_parameter") return `The server refused one of the settings: ${error.message}.`;
  if (status === 429) return "The server is busy. Wait a moment and try again.";
  if (status === 503) return "The server is not ready yet (the model may still be loading). Try again shortly.";
  if (status >= 500) return "The server had a problem with this request. Try again in a moment.";
  if (status === 0) return UNREACHABLE;
  return `The server refused the request (HTTP ${status}). Try another image or reload the page.`;
}
async function readJson(response) {
  try {
    return await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return null;
  }
}
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// webapp/static/draw.js
var FALLBACK_PALETTE = ["#e6194b"];
var JPEG_QUALITY = 0.9;
function classColour(classId, palette2) {
  const colours = palette2?.length ? palette2 : FALLBACK_PALETTE;
  return colours[classId % colours.length];
}
function textColourOn(hex) {
  const value = parseInt(hex.slice(1), 16);
  const sum = (value >> 16) + (value >> 8 & 255) + (value & 255);
  return sum > 380 ? "#000000" : "#ffffff";
}
function fitOverlay(overlay2, shown) {
  const ratio = window.devicePixelRatio || 1;
  overlay2.style.left = `${shown.offsetLeft}px`;
  overlay2.style.top = `${shown.offsetTop}px`;
  overlay2.style.width = `${shown.clientWidth}px`;
  overlay2.style.height = `${shown.clientHeight}px`;
  overlay2.width = Math.max(1, Math.round(shown.clientWidth * ratio));
  overlay2.height = Math.max(1, Math.round(shown.clientHeight * ratio));
  const ctx = overlay2.getContext("2d");
  ctx.clearRect(0, 0, overlay2.width, overlay2.height);
  return ctx;
}
function drawDetections(ctx, detections, { scale, palette: palette2, lineWidth, fontSize, highlight = -1, labels = true }) {
  const { width, height } = ctx.canvas;
  ctx.save();
  ctx.font = `600 ${fontSize}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  ctx.textBaseline = "middle";
  const boxes = detections.map((detection) => detection.box.map((value) => value * scale));
  const tags = labelPlaces(ctx, detections, boxes, fontSize, width, height);
  const order = detections.map((_, index) => index).reverse();
  for (const index of order) {
    const [x1, y1, x2, y2] = boxes[index];
    ctx.globalAlpha = highlight >= 0 && highlight !== index ? 0.3 : 1;
    ctx.lineWidth = highlight === index ? lineWidth * 2 : lineWidth;
    ctx.strokeStyle = classColour(detections[index].class_id, palette2);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
  }
  for (const index of labels ? order : []) {
    const colour = classColour(detections[index].class_id, palette2);
    ctx.globalAlpha = highlight >= 0 && highlight !== index ? 0.3 : 1;
    drawTag(ctx, tags[index], colour, fontSize);
  }
  ctx.restore();
}
function labelPlaces(ctx, detections, boxes, fontSize, canvasWidth, canvasHeight) {
  const padding = Math.round(fontSize * 0.35);
  const tagHeight = Math.round(fontSize * 1.45);
  const placed = [];
  return detections.map((detection, index) => {
    const text = `${detection.class_name} ${detection.score.toFixed(2)}`;
    const tagWidth = Math.min(ctx.measureText(text).width + 2 * padding, canvasWidth);
    const [x1, y1, x2, y2] = boxes[index];
    const left = Math.max(0, Math.min(x1, canvasWidth - tagWidth));
    const fits = (top2) => top2 >= 0 && top2 + tagHeight <= canvasHeight;
    const free = (top2) => !placed.some((o) => left < o.left + o.width && o.left < left + tagWidth && top2 < o.top + o.height && o.top < top2 + tagHeight);
    const tries = [y1 - tagHeight, y1, y2, y2 - tagHeight];
    for (let top2 = y1 + tagHeight; top2 + tagHeight <= canvasHeight && tries.length < 40; top2 += tagHeight) tries.push(top2);
    const top = tries.find((candidate) => fits(candidate) && free(candidate)) ?? Math.max(0, Math.min(y1, canvasHeight - tagHeight));
    const tag = { text, left, top, width: tagWidth, height: tagHeight, padding };
    placed.push(tag);
    return tag;
  });
}
function drawTag(ctx, tag, colour) {
  ctx.fillStyle = colour;
  ctx.fillRect(tag.left, tag.top, tag.width, tag.height);
  ctx.fillStyle = textColourOn(colour);
  ctx.fillText(tag.text, tag.left + tag.padding, tag.top + tag.height / 2, tag.width - 2 * tag.padding);
}
function renderAnnotatedImage(image, result, palette2, type = "image/png") {
  const { width, height } = result.image;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(image, 0, 0, width, height);
  const longest = Math.max(width, height);
  drawDetections(ctx, result.detections, {
    scale: 1,
    palette: palette2,
    lineWidth: Math.max(2, Math.round(longest / 300)),
    fontSize: Math.max(12, Math.round(longest / 45))
  });
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => blob ? resolve(blob) : reject(new Error("toBlob failed")), type, JPEG_QUALITY);
  });
}

// webapp/static/shrink.js
var SIDE_PER_INPUT_SIDE = 2;
var JPEG_QUALITY2 = 0.9;
function uploadSideFor(inputSizes) {
  const sides = inputSizes.map((size) => Math.max(size.width, size.height));
  return Math.round(SIDE_PER_INPUT_SIDE * Math.max(...sides));
}
async function prepareUpload(file, maxSide) {
  let decoded;
  try {
    decoded = await decodeUpright(file);
  } catch {
    return null;
  }
  const { bitmap, upright } = decoded;
  const originalWidth = bitmap.width;
  const originalHeight = bitmap.height;
  const asIs = { blob: file, width: originalWidth, height: originalHeight, originalWidth, originalHeight, shrunk: false };
  try {
    const scale = maxSide / Math.max(originalWidth, originalHeight);
    if (!(scale < 1) || !upright) return asIs;
    const width = Math.max(1, Math.round(originalWidth * scale));
    const height = Math.max(1, Math.round(originalHeight * scale));
    const blob = await encodeJpeg(bitmap, width, height);
    if (blob.size >= file.size) return asIs;
    return { blob, width, height, originalWidth, originalHeight, shrunk: true };
  } finally {
    bitmap.close();
  }
}
async function decodeUpright(file) {
  try {
    return { bitmap: await createImageBitmap(file, { imageOrientation: "from-image" }), upright: true };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  return { bitmap: await createImageBitmap(file), upright: false };
}
async function encodeJpeg(bitmap, width, height) {
  const resized = await createImageBitmap(bitmap, { resizeWidth: width, resizeHeight: height, resizeQuality: "high" });
  const canvas = makeCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(resized, 0, 0);
  resized.close();
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality: JPEG_QUALITY2 });
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => blob ? resolve(blob) : reject(new Error("JPEG encoding failed")), "image/jpeg", JPEG_QUALITY2);
  });
}
function makeCanvas(width, height) {
  if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}
function inOriginalPixels(body, upload) {
  const slot = body.responses[0];
  if (!upload.shrunk) return body;
  const scaleX = upload.originalWidth / slot.image.width;
  const scaleY = upload.originalHeight / slot.image.height;
  const detections = slot.detections.map((detection) => {
    const [x1, y1, x2, y2] = detection.box;
    const box = [x1 * scaleX, y1 * scaleY, x2 * scaleX, y2 * scaleY].map((value) => Math.round(value * 10) / 10);
    return { ...detection, box };
  });
  const image = { width: upload.originalWidth, height: upload.originalHeight };
  return { ...body, responses: [{ ...slot, image, sent_image: slot.image, detections }, ...body.responses.slice(1)] };
}

// webapp/static/compare.js
var $ = (id) => document.getElementById(id);
var compare = { options: null, model: "", body: null, askedKey: "", controller: null };
function bindCompare(options) {
  compare.options = options;
  const picker = $("compare-model");
  if (!picker) return;
  picker.addEventListener("change", () => {
    compare.model = picker.value;
    compare.askedKey = "";
    compare.body = null;
    showView();
    options.onToggle();
    refreshCompare();
  });
  new ResizeObserver(() => drawCompare()).observe($("compare-photo"));
}
function clearCompare() {
  compare.controller?.abort();
  compare.body = null;
  compare.askedKey = "";
  drawCompare();
}
function showView() {
  const on = Boolean(compare.model);
  $("compare-view").hidden = !on;
  $("main-label").hidden = !on;
  document.body.dataset.compare = on ? "on" : "off";
}
async function refreshCompare() {
  const image = compare.options.getImage();
  showView();
  if (!compare.model || !image) return;
  if (!image.canShow) {
    label("This browser cannot show this image, so it cannot show a second model's boxes beside it.");
    return;
  }
  const params = { ...compare.options.getParams(), model: compare.model };
  const key = JSON.stringify([image.id, Object.entries(params).sort()]);
  if (key === compare.askedKey) return;
  compare.askedKey = key;
  compare.controller?.abort();
  const controller = new AbortController();
  compare.controller = controller;
  $("compare-photo").src = image.url;
  $("compare-photo").alt = `The same image, with the boxes of ${compare.options.titleOf(compare.model)}`;
  $("compare-view").setAttribute("aria-busy", "true");
  label(`${compare.options.titleOf(compare.model)}: looking…`);
  try {
    const body = await ask(image, params, controller.signal);
    compare.body = inOriginalPixels(body, image.upload);
    const count = compare.body.responses[0].detections.length;
    label(`${compare.options.titleOf(compare.model)}: ${count === 1 ? "1 object" : `${count} objects`}`);
    drawCompare();
  } catch (error) {
    if (error.name === "AbortError") return;
    compare.askedKey = "";
    label(error instanceof FriendlyError ? error.message : "The second model's answer could not be shown.");
  } finally {
    if (compare.controller === controller) $("compare-view").removeAttribute("aria-busy");
  }
}
async function ask(image, params, signal) {
  const request = { params, token: compare.options.getToken(), signal };
  if (image.sha256 && image.seenBy.has(compare.model)) {
    try {
      return (await predict({ ...request, sha256: image.sha256 })).body;
    } catch (error) {
      if (error.code !== IMAGE_NOT_CACHED) throw error;
      image.seenBy.delete(compare.model);
    }
  }
  const { body } = await predict({ ...request, file: image.file() });
  image.seenBy.add(compare.model);
  return body;
}
function label(text) {
  $("compare-label").textContent = text;
}
function drawCompare() {
  const overlay2 = $("compare-overlay");
  const ctx = fitOverlay(overlay2, $("compare-photo"));
  const slot = compare.body?.responses[0];
  overlay2.dataset.boxCount = String(slot ? slot.detections.length : 0);
  if (!slot) return;
  const ratio = window.devicePixelRatio || 1;
  drawDetections(ctx, slot.detections, {
    scale: overlay2.width / slot.image.width,
    palette: compare.options.getPalette(),
    lineWidth: 2 * ratio,
    fontSize: 12 * ratio
  });
}

// webapp/static/controls.js
function sliders() {
  return [...document.querySelectorAll('input[type="range"][data-param]')];
}
function modelPicker() {
  return document.getElementById("model");
}
function showValue(slider) {
  const text = Number(slider.value).toFixed(Number(slider.dataset.decimals));
  document.getElementById(`${slider.id}-value`).textContent = text;
  slider.setAttribute("aria-valuetext", text);
}
function applyModelDefaults() {
  const option = modelPicker()?.selectedOptions[0];
  const overrides = option ? JSON.parse(option.dataset.defaults || "{}") : {};
  for (const slider of sliders()) {
    slider.dataset.default = overrides[slider.dataset.param] ?? slider.getAttribute("value");
  }
}
function readParams() {
  const params = Object.fromEntries(sliders().map((slider) => [slider.dataset.param, slider.value]));
  const model2 = selectedModel();
  if (model2) params.model = model2;
  return params;
}
function selectedModel() {
  return modelPicker()?.value ?? "";
}
function sliderRanges() {
  return Object.fromEntries(sliders().map((s) => [s.dataset.param, { min: Number(s.min), max: Number(s.max) }]));
}
function resetSliders() {
  for (const slider of sliders()) {
    slider.value = slider.dataset.default;
    showValue(slider);
  }
}
function fillModelPickers(models) {
  const picker = modelPicker();
  if (!picker || picker.options.length || models.length < 2) return;
  const option = (model2, selected) => {
    const element = new Option(model2.title || model2.name, model2.name, selected, selected);
    element.dataset.defaults = JSON.stringify(model2.default_params ?? {});
    return element;
  };
  picker.append(...models.map((model2) => option(model2, model2.default)));
  document.getElementById("compare-model")?.append(...models.map((model2) => option(model2, false)));
  document.getElementById("model-picker").hidden = false;
  document.getElementById("compare-picker").hidden = false;
  applyModelDefaults();
  resetSliders();
}
function bindSliders({ onInput, onSettled, onDragStart = () => {
}, onDrag = () => {
}, delayMs = 150 }) {
  let timer = 0;
  let dragged = null;
  const changed = () => {
    onInput();
    clearTimeout(timer);
    timer = setTimeout(onSettled, delayMs);
  };
  const release = () => {
    if (!dragged) return;
    dragged = null;
    clearTimeout(timer);
    onSettled();
  };
  applyModelDefaults();
  for (const slider of sliders()) {
    showValue(slider);
    slider.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      dragged = slider;
      onDragStart(slider.dataset.param);
    });
    slider.addEventListener("input", () => {
      showValue(slider);
      if (dragged === slider) onDrag(slider.dataset.param);
      else changed();
    });
  }
  window.addEventListener("pointerup", release, true);
  window.addEventListener("pointercancel", release, true);
  modelPicker()?.addEventListener("change", () => {
    applyModelDefaults();
    resetSliders();
    changed();
  });
  document.getElementById("reset-settings").addEventListener("click", () => {
    resetSliders();
    changed();
  });
  return { cancelPending: () => clearTimeout(timer) };
}

// webapp/static/download-format.js
var EXTENSIONS = { "image/jpeg": "jpg", "image/png": "png" };
function chosenImageFormat() {
  const type = document.getElementById("download-format").value;
  return { type, extension: EXTENSIONS[type] ?? "png" };
}

// webapp/static/model-info.js
var $2 = (id) => document.getElementById(id);
var known = { byName: /* @__PURE__ */ new Map(), defaultName: "", palette: [], limits: null };
async function loadModels(token) {
  const [info, models] = await Promise.all([fetchModelInfo(token), fetchModelList(token)]);
  known.palette = info.palette ?? [];
  known.limits = info.limits ?? null;
  known.defaultName = info.name;
  known.byName = new Map((models.length ? models : [info]).map((model2) => [model2.name, model2]));
  if (!known.byName.has(info.name)) known.byName.set(info.name, info);
  return { info: describe(info.name), models: [...known.byName.values()] };
}
function modelsKnown() {
  return known.byName.size > 0;
}
function describe(name) {
  const model2 = known.byName.get(name || known.defaultName);
  return model2 ? { ...model2, palette: known.palette, limits: known.limits } : null;
}
function palette() {
  return known.palette;
}
function titleOf(name) {
  const model2 = describe(name);
  return model2 ? model2.title || model2.name : name;
}
function showModelInHeader(name) {
  const model2 = describe(name);
  if (!model2) return;
  $2("model-name").textContent = model2.title || model2.name;
  $2("model-details").textContent = `· ${model2.family.toUpperCase()} family · knows ${model2.num_classes} kinds of objects`;
  document.title = `Object detection · ${model2.title || model2.name}`;
}
function modelsFailureText(error) {
  return error instanceof FriendlyError ? error.message : "The models' details could not be loaded.";
}

// webapp/static/batch-api.js
var PREDICT_URL2 = "api/predict";
var FALLBACK_MAX_BATCH = 16;
var FORM_OVERHEAD_BYTES = 2048;
function maxBatchOf(modelInfo) {
  const limit = Number(modelInfo?.limits?.max_batch);
  return Number.isInteger(limit) && limit > 0 ? limit : FALLBACK_MAX_BATCH;
}
function planBatches(files, maxBatch, maxBytes) {
  const batches = [];
  const tooLarge = [];
  let current = [];
  let bytes = 0;
  for (const file of files) {
    const size = file.size + FORM_OVERHEAD_BYTES;
    if (maxBytes && size >= maxBytes) {
      tooLarge.push(file);
      continue;
    }
    if (current.length === maxBatch || maxBytes && bytes + size >= maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += size;
  }
  if (current.length) batches.push(current);
  return { batches, tooLarge };
}
async function postImages(entries, { params, token, signal }) {
  const form = new FormData();
  for (const entry of entries) {
    if (entry instanceof Blob) form.append("image", entry, entry.name || "image");
    else form.append("image_sha256", entry.sha256);
  }
  for (const [name, value] of Object.entries(params)) form.append(name, String(value));
  const headers = { Accept: "application/json" };
  if (token) headers["X-Api-Token"] = token;
  let response;
  try {
    response = await fetch(PREDICT_URL2, { method: "POST", body: form, headers, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new FriendlyError(describeFailure(0, null, false));
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error;
  }
  const slots = body?.responses;
  const singleFailure = entries.length === 1 && slots?.[0]?.error;
  if (!Array.isArray(slots) || slots.length !== entries.length || !response.ok && !singleFailure) {
    const error = body?.error;
    const status = error?.status ?? response.status;
    const retryAfterS = retryAfterSeconds(response.headers.get("Retry-After"));
    throw new FriendlyError(describeFailure(status, error, Boolean(token)), { status, code: error?.code ?? "", retryAfterS });
  }
  return body;
}
function describeSlotError(error, tokenSent) {
  return describeFailure(error.status, error, tokenSent);
}

// webapp/static/camera.js
var $3 = (id) => document.getElementById(id);
var RATE_WINDOW = 8;
var FRAME_QUALITY = 0.8;
var ERROR_PAUSE_MS = 1e3;
var BUSY_GAP_MS = [500, 8e3];
var camera = {
  options: null,
  // bindCamera's argument
  stream: null,
  facing: "environment",
  // the back camera on phones; laptops have only one anyway
  looping: false,
  // a frame loop is running
  paused: false,
  controller: null,
  // the frame request in flight
  answers: [],
  // performance.now() of the latest answers
  frames: 0,
  result: null,
  // {detections, width, height} of the newest answer
  gapMs: 0
  // wait before each frame since the server said 429; shrinks again with each answered frame
};
function bindCamera(options) {
  camera.options = options;
  if (!navigator.mediaDevices?.getUserMedia) {
    $3("camera-start").hidden = true;
    return;
  }
  $3("camera-start").addEventListener("click", () => start());
  $3("camera-pause").addEventListener("click", () => camera.paused ? resume() : pause());
  $3("camera-snapshot").addEventListener("click", snapshot);
  $3("camera-switch").addEventListener("click", switchCamera);
  $3("camera-stop").addEventListener("click", stop);
  new ResizeObserver(drawBoxes).observe($3("camera-video"));
  document.addEventListener("visibilitychange", () => document.hidden || runLoop());
}
async function start() {
  $3("camera-error").textContent = "";
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: camera.facing }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false
    });
  } catch (error) {
    $3("camera-error").textContent = cameraErrorText(error);
    return;
  }
  camera.stream = stream;
  camera.answers = [];
  camera.frames = 0;
  camera.result = null;
  const video = $3("camera-video");
  video.srcObject = stream;
  $3("camera").hidden = false;
  $3("camera-start").hidden = true;
  document.body.dataset.camera = "on";
  setPaused(false);
  showRate();
  drawBoxes();
  camera.options.onStart?.();
  await video.play().catch(() => {
  });
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  $3("camera-switch").hidden = cameras.length < 2;
  $3("camera-pause").focus();
  $3("camera").scrollIntoView({ block: "nearest" });
  runLoop();
}
function stopTracks() {
  camera.stream?.getTracks().forEach((track) => track.stop());
  camera.stream = null;
  camera.controller?.abort();
}
function stop({ focus = true } = {}) {
  stopTracks();
  $3("camera-video").srcObject = null;
  $3("camera").hidden = true;
  $3("camera-start").hidden = false;
  delete document.body.dataset.camera;
  if (focus) $3("camera-start").focus();
}
function pause() {
  setPaused(true);
  $3("camera-video").pause();
}
function resume() {
  setPaused(false);
  camera.answers = [];
  $3("camera-video").play().catch(() => {
  });
  runLoop();
}
async function switchCamera() {
  camera.facing = camera.facing === "environment" ? "user" : "environment";
  stopTracks();
  await start();
}
async function snapshot() {
  const video = $3("camera-video");
  if (!video.videoWidth) return;
  pause();
  const side = Math.min(camera.options.getFrameSide(), Math.max(video.videoWidth, video.videoHeight));
  const blob = await grabFrame(video, side, FRAME_QUALITY);
  const stamp = (/* @__PURE__ */ new Date()).toISOString().slice(0, 19).replaceAll(":", "-");
  stop({ focus: false });
  camera.options.onSnapshot(new File([blob], `camera-${stamp}.jpg`, { type: "image/jpeg" }));
}
function setPaused(paused) {
  camera.paused = paused;
  $3("camera-pause").textContent = paused ? "Resume" : "Pause";
  $3("camera").dataset.state = paused ? "paused" : "live";
  showRate();
}
function runLoop() {
  if (camera.looping) return;
  camera.looping = true;
  loop().finally(() => {
    camera.looping = false;
  });
}
async function loop() {
  const video = $3("camera-video");
  while (camera.stream && !camera.paused && !document.hidden) {
    if (video.readyState < 2 || !video.videoWidth) {
      await nextPaint();
      continue;
    }
    if (camera.gapMs) await sleep(camera.gapMs);
    const longer = Math.max(video.videoWidth, video.videoHeight);
    const side = Math.min(camera.options.getFrameSide(), longer);
    const width = Math.round(video.videoWidth * side / longer);
    const height = Math.round(video.videoHeight * side / longer);
    const frame = new File([await grabFrame(video, side, FRAME_QUALITY)], "camera-frame.jpg", { type: "image/jpeg" });
    const controller = new AbortController();
    camera.controller = controller;
    try {
      const { params, token } = camera.options.getRequest();
      const body = await postImages([frame], { params, token, signal: controller.signal });
      const slot = body.responses[0];
      if (slot.error) {
        throw Object.assign(new Error(describeSlotError(slot.error, Boolean(token))), { status: slot.error.status });
      }
      camera.result = { detections: slot.detections, width, height };
      camera.frames += 1;
      camera.gapMs = camera.gapMs > 50 ? Math.round(camera.gapMs * 0.9) : 0;
      camera.answers = [...camera.answers, performance.now()].slice(-RATE_WINDOW);
      $3("camera-error").textContent = "";
      drawBoxes();
      showRate();
    } catch (error) {
      if (error.name === "AbortError") continue;
      $3("camera-error").textContent = error.message;
      if (error.status === 401) pause();
      else if (error.status === 429) await slowDown(error.retryAfterS);
      else await sleep(ERROR_PAUSE_MS);
    } finally {
      if (camera.controller === controller) camera.controller = null;
    }
  }
}
async function slowDown(retryAfterS) {
  camera.gapMs = Math.min(BUSY_GAP_MS[1], Math.max(BUSY_GAP_MS[0], camera.gapMs * 2));
  const waitMs = Math.max((retryAfterS || 0) * 1e3, camera.gapMs);
  $3("camera-error").textContent = `The server is busy, retrying in ${Math.ceil(waitMs / 1e3)} s with fewer frames…`;
  await sleep(waitMs);
}
function grabFrame(video, side, quality) {
  const scale = side / Math.max(video.videoWidth, video.videoHeight);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => blob ? resolve(blob) : reject(new Error("frame encoding failed")), "image/jpeg", quality);
  });
}
function drawBoxes() {
  const video = $3("camera-video");
  const overlay2 = $3("camera-overlay");
  const ctx = fitOverlay(overlay2, video);
  const ratio = window.devicePixelRatio || 1;
  const result = camera.result;
  overlay2.dataset.boxCount = String(result ? result.detections.length : 0);
  if (!result) return;
  drawDetections(ctx, result.detections, {
    scale: overlay2.width / result.width,
    palette: camera.options.getPalette(),
    lineWidth: 2 * ratio,
    fontSize: 12 * ratio
  });
}
function showRate() {
  const times = camera.answers;
  const output = $3("camera-rate");
  $3("camera").dataset.frames = String(camera.frames);
  if (camera.paused) {
    output.textContent = "Paused";
    $3("camera").dataset.fps = "0";
    return;
  }
  if (times.length < 2) {
    output.textContent = "Measuring…";
    $3("camera").dataset.fps = "0";
    return;
  }
  const perFrameMs = (times.at(-1) - times[0]) / (times.length - 1);
  const fps = 1e3 / perFrameMs;
  $3("camera").dataset.fps = fps.toFixed(2);
  output.textContent = `${fps.toFixed(1)} frames/s (${Math.round(perFrameMs)} ms each)`;
}
function cameraErrorText(error) {
  if (error.name === "NotAllowedError") return "The camera was not allowed. Allow it in the browser's site settings to use it.";
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return "No camera was found on this device.";
  if (error.name === "NotReadableError") return "The camera is busy in another program.";
  return "The camera could not be started in this browser.";
}
function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// webapp/static/class-filter.js
var $4 = (id) => document.getElementById(id);
var filter = {
  classNames: [],
  // every class the model knows, from /api/model
  selected: [],
  // names to ask for, in the order chosen
  found: /* @__PURE__ */ new Map(),
  // name -> count in the newest answer asked for all classes
  counts: /* @__PURE__ */ new Map(),
  // name -> count in the newest answer
  onChange: () => {
  }
};
function classParams() {
  return filter.selected.length ? { classes: [...filter.selected] } : {};
}
function bindClassFilter({ onChange }) {
  filter.onChange = onChange;
  const search = $4("class-search");
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    addFromSearch();
  });
  search.addEventListener("change", () => {
    if (findClass(search.value)) addFromSearch();
  });
  $4("class-add").addEventListener("click", addFromSearch);
  $4("class-clear").addEventListener("click", () => setSelected([]));
  $4("reset-settings").addEventListener("click", () => {
    filter.selected = [];
    renderChips();
  });
  renderChips();
}
function setClassNames(names) {
  filter.classNames = names ?? [];
  const options = filter.classNames.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    return option;
  });
  $4("class-names").replaceChildren(...options);
}
function forgetFoundClasses() {
  filter.found = /* @__PURE__ */ new Map();
  filter.counts = /* @__PURE__ */ new Map();
  renderChips();
}
function showClassCounts(body) {
  const counts = /* @__PURE__ */ new Map();
  for (const detection of body.responses?.[0]?.detections ?? []) {
    counts.set(detection.class_name, (counts.get(detection.class_name) ?? 0) + 1);
  }
  filter.counts = counts;
  if (!filter.selected.length) filter.found = counts;
  renderChips();
}
function findClass(text) {
  const wanted = text.trim().toLowerCase();
  return filter.classNames.find((name) => name.toLowerCase() === wanted);
}
function addFromSearch() {
  const search = $4("class-search");
  const text = search.value.trim();
  if (!text) return;
  const name = findClass(text);
  const hint = $4("class-search-hint");
  if (!name) {
    hint.textContent = `This model does not know “${text}”. Pick one from the list.`;
    hint.classList.add("error-text");
    return;
  }
  hint.textContent = "";
  hint.classList.remove("error-text");
  search.value = "";
  if (!filter.selected.includes(name)) setSelected([...filter.selected, name]);
}
function setSelected(names) {
  filter.selected = names;
  renderChips();
  filter.onChange();
}
function toggle(name) {
  const chosen = filter.selected.includes(name);
  setSelected(chosen ? filter.selected.filter((other) => other !== name) : [...filter.selected, name]);
}
function renderChips() {
  const names = [...filter.found.keys()];
  for (const name of filter.selected) if (!names.includes(name)) names.push(name);
  const chips = names.map((name) => {
    const chosen = filter.selected.includes(name);
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.dataset.className = name;
    chip.setAttribute("aria-pressed", String(chosen));
    const count = document.createElement("span");
    count.className = "chip-count";
    count.textContent = String((chosen ? filter.counts.get(name) : filter.found.get(name)) ?? 0);
    const found = document.createElement("span");
    found.className = "visually-hidden";
    found.textContent = " found";
    const label2 = document.createElement("span");
    label2.textContent = name;
    chip.append(label2, " ", count, found);
    chip.addEventListener("click", () => toggle(name));
    return chip;
  });
  const container = $4("class-chips");
  const focused = container.contains(document.activeElement) ? document.activeElement.dataset.className : null;
  container.replaceChildren(...chips);
  if (focused !== null) (chips.find((chip) => chip.dataset.className === focused) ?? $4("class-search")).focus();
  $4("class-clear").hidden = filter.selected.length === 0;
  $4("class-filter-state").textContent = filter.selected.length ? `Looking only for ${filter.selected.join(", ")}.` : names.length ? "All kinds shown. Press one to look only for it." : "All kinds shown.";
}

// webapp/static/snippets.js
var TOKEN_VARIABLE = "DETECTION_API_TOKEN";
var IMAGE = "photo.jpg";
function buildSnippets({ serverRoot, params, authRequired }) {
  const endpoint = new URL("api/predict", serverRoot).href;
  const fields = Object.entries(params).map(([name, value]) => [name, String(value), value]);
  return {
    curl: curlSnippet(endpoint, fields, authRequired),
    requests: requestsSnippet(endpoint, fields, authRequired),
    client: clientSnippet(serverRoot, fields, authRequired),
    fetch: fetchSnippet(endpoint, fields, authRequired)
  };
}
function curlSnippet(endpoint, fields, authRequired) {
  const lines = [`curl -s ${shellQuote(endpoint)}`];
  if (authRequired) lines.push(`-H "X-Api-Token: $${TOKEN_VARIABLE}"`);
  lines.push(`-F image=@${IMAGE}`);
  for (const [name, value] of fields) lines.push(`--form-string ${shellQuote(`${name}=${value}`)}`);
  return lines.join(" \\\n  ");
}
function requestsSnippet(endpoint, fields, authRequired) {
  const data = fields.map(([name, value]) => `        ${pyString(name)}: ${pyString(value)},`);
  return [
    ...authRequired ? ["import os", ""] : [],
    "import requests",
    "",
    `with open(${pyString(IMAGE)}, "rb") as image:`,
    "    response = requests.post(",
    `        ${pyString(endpoint)},`,
    ...authRequired ? [`        headers={"X-Api-Token": os.environ[${pyString(TOKEN_VARIABLE)}]},`] : [],
    '        files={"image": image},',
    "        data={",
    ...data.map((line) => `    ${line}`),
    "        },",
    "        timeout=30,",
    "    )",
    "response.raise_for_status()",
    'for detection in response.json()["responses"][0]["detections"]:',
    '    print(detection["class_name"], detection["score"], detection["box"])'
  ].join("\n");
}
function clientSnippet(serverRoot, fields, authRequired) {
  const argumentsText = fields.map(([name, text, value]) => `${snakeCase(name)}=${pyValue(text, value)}`);
  const token = authRequired ? `, token=os.environ[${pyString(TOKEN_VARIABLE)}]` : "";
  return [
    ...authRequired ? ["import os", ""] : [],
    "from detection_client import DetectionClient",
    "",
    `with DetectionClient(${pyString(serverRoot)}${token}) as client:`,
    `    result = client.predict(${[pyString(IMAGE), ...argumentsText].join(", ")})`,
    'for detection in result["detections"]:',
    '    print(detection["class_name"], detection["score"], detection["box"])'
  ].join("\n");
}
function fetchSnippet(endpoint, fields, authRequired) {
  return [
    '// `file`: a File from <input type="file">, or a Blob of the image\'s bytes.',
    "// From a page on another origin, the server must list that origin in CORS_ORIGINS.",
    "const form = new FormData();",
    'form.append("image", file);',
    ...fields.map(([name, value]) => `form.append(${JSON.stringify(name)}, ${JSON.stringify(value)});`),
    `const response = await fetch(${JSON.stringify(endpoint)}, {`,
    '  method: "POST",',
    ...authRequired ? ['  headers: { "X-Api-Token": "<your API token>" },'] : [],
    "  body: form,",
    "});",
    "const body = await response.json();",
    "if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);",
    "for (const d of body.responses[0].detections) console.log(d.class_name, d.score, d.box);"
  ].join("\n");
}
function pyValue(text, value) {
  if (Array.isArray(value)) return `[${value.map((item) => pyString(String(item))).join(", ")}]`;
  return text.trim() !== "" && Number.isFinite(Number(text)) ? text : pyString(text);
}
function snakeCase(name) {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
function pyString(text) {
  return JSON.stringify(text);
}
function shellQuote(text) {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

// webapp/static/code-panel.js
var $5 = (id) => document.getElementById(id);
var snippets = {};
function bindCodePanel(currentRequest) {
  const tabs = [...document.querySelectorAll("#snippet-tabs [role=tab]")];
  const select = (tab) => {
    for (const other of tabs) {
      const chosen = other === tab;
      other.setAttribute("aria-selected", String(chosen));
      other.tabIndex = chosen ? 0 : -1;
    }
    $5("snippet-panel").setAttribute("aria-labelledby", tab.id);
    showSnippet();
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: tabs.length - 1 - index }[event.key];
      if (step === void 0) return;
      event.preventDefault();
      const next = tabs[(index + step + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  });
  $5("snippet-copy").addEventListener("click", copySnippet);
  const refresh = () => updateCodePanel(currentRequest());
  $5("code-panel").addEventListener("toggle", refresh);
  return refresh;
}
function updateCodePanel({ params, authRequired }) {
  if (!$5("code-panel").open) return;
  const serverRoot = new URL(".", document.baseURI).href;
  snippets = buildSnippets({ serverRoot, params, authRequired });
  showSnippet();
}
function showSnippet() {
  const tab = document.querySelector("#snippet-tabs [aria-selected=true]");
  $5("snippet-code").textContent = snippets[tab.dataset.language] ?? "";
  $5("snippet-status").textContent = "";
}
async function copySnippet() {
  const text = $5("snippet-code").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $5("snippet-status").textContent = "Copied.";
  } catch {
    window.getSelection().selectAllChildren($5("snippet-code"));
    $5("snippet-status").textContent = "Selected: press Ctrl+C (⌘C) to copy.";
  }
}

// webapp/static/examples.js
function bindExamples(onFile, onError) {
  for (const button of document.querySelectorAll("button.example")) {
    const run2 = async () => {
      button.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(button.dataset.src);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const blob = await response.blob();
        onFile(new File([blob], button.dataset.name, { type: blob.type }), { caption: button.dataset.credit });
      } catch (error) {
        console.warn(error);
        onError("That example could not be loaded from the server. Check that you are online, then retry.", { retry: run2 });
      } finally {
        button.removeAttribute("aria-busy");
      }
    };
    button.addEventListener("click", run2);
  }
}

// webapp/static/save.js
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 3e4);
}
function saveJson(value, name) {
  saveBlob(new Blob([JSON.stringify(value, null, 2)], { type: "application/json" }), name);
}
function base64ToBlob(base64, type) {
  return new Blob([Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))], { type });
}

// webapp/static/gallery.js
var $6 = (id) => document.getElementById(id);
var gallery = {
  options: null,
  controller: null,
  // the run in progress
  items: [],
  // {file, element, record, upload (shrunk blob and its scale), sha256 (once the server has it)}
  urls: []
};
function bindGallery(options) {
  gallery.options = options;
  $6("gallery-download").addEventListener("click", downloadAll);
  $6("gallery-close").addEventListener("click", closeGallery);
}
async function showGallery(files) {
  closeGallery();
  const controller = new AbortController();
  gallery.controller = controller;
  gallery.items = files.map((file, index) => ({ file, element: galleryItem(file, index), record: null, sha256: "" }));
  $6("gallery-list").replaceChildren(...gallery.items.map((item) => item.element));
  $6("gallery").hidden = false;
  $6("gallery-title").focus();
  await run(controller);
}
async function refreshGallery() {
  if ($6("gallery").hidden || !gallery.items.length) return;
  gallery.controller?.abort();
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
  $6("gallery-download").disabled = true;
  await detectAll(controller.signal);
  if (controller.signal.aborted) return;
  $6("gallery-download").disabled = false;
  showProgress();
}
function closeGallery() {
  gallery.controller?.abort();
  gallery.urls.forEach((url) => URL.revokeObjectURL(url));
  gallery.urls = [];
  gallery.items = [];
  $6("gallery-list").replaceChildren();
  $6("gallery").hidden = true;
}
async function detectAll(signal) {
  const { maxBatch, maxBytes, uploadSide } = gallery.options.getLimits();
  showProgress();
  for (const item of gallery.items) {
    if (item.upload) continue;
    const upload = await prepareUpload(item.file, uploadSide || Infinity);
    if (signal.aborted) return;
    item.upload = upload ?? { blob: item.file, shrunk: false };
  }
  const known2 = gallery.items.filter((item) => item.sha256);
  for (let start2 = 0; start2 < known2.length; start2 += maxBatch) {
    const items = known2.slice(start2, start2 + maxBatch);
    if (!await send(items, items.map((item) => ({ sha256: item.sha256 })), signal)) return;
  }
  const blobs = gallery.items.flatMap((item, index) => item.record ? [] : [toFile(item.upload.blob, item.file.name, index)]);
  const { batches, tooLarge } = planBatches(blobs, maxBatch, maxBytes);
  for (const blob of tooLarge) {
    setRecord(gallery.items[blob.index], { error: { status: 413, code: "request_too_large", message: "" } }, "");
  }
  for (const batch of batches) {
    if (!await send(batch.map((blob) => gallery.items[blob.index]), batch, signal)) return;
  }
}
async function send(items, entries, signal) {
  const { params, token } = gallery.options.getRequest();
  try {
    const onBusy = (seconds) => $6("gallery-status").textContent = busyMessage(seconds);
    const body = await retryWhenBusy(() => postImages(entries, { params, token, signal }), { signal, onBusy });
    body.responses.forEach((slot, index) => {
      const item = items[index];
      if (slot.error?.code === IMAGE_NOT_CACHED) {
        item.sha256 = "";
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
var THUMBNAIL_SIDE = 240;
async function drawThumbnail(item, record) {
  const old = item.element.querySelector(".thumbnail");
  if (!old) return;
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
    labels: false
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
  $6("gallery-status").textContent = done < total ? `Detecting… ${done} of ${total} images done${errors}.` : `${total} images: ${total - failed} done${errors}.`;
  $6("gallery").dataset.done = String(done);
}
function downloadAll() {
  const records = gallery.items.map((item) => item.record ?? { file: item.file.name, error: { message: "not asked" } });
  saveJson(records, "detections.json");
}

// webapp/static/paste-hint.js
function showPasteHint() {
  const apple = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform ?? navigator.platform ?? "");
  document.getElementById("paste-key").textContent = apple ? "⌘" : "Ctrl";
}

// webapp/static/request-params.js
function requestParams() {
  return { ...readParams(), ...classParams() };
}
function currentToken() {
  return document.getElementById("api-token")?.value.trim() ?? "";
}

// webapp/static/small-image.js
var DISPLAY_SIDE = 320;
function markSmallImage(photo2, note, inputSide2) {
  const longer = Math.max(photo2.naturalWidth, photo2.naturalHeight);
  const small = longer > 0 && inputSide2 > 0 && longer < inputSide2 / 2;
  photo2.classList.toggle("upscaled", small);
  photo2.style.width = small ? `${Math.round(photo2.naturalWidth * DISPLAY_SIDE / longer)}px` : "";
  note.hidden = !small;
  if (small) {
    note.textContent = `Small image (${photo2.naturalWidth}×${photo2.naturalHeight} px), shown enlarged: results may be poor. The model looks at ${inputSide2} px.`;
  }
  return small;
}

// webapp/static/page-features.js
var $7 = (id) => document.getElementById(id);
var FALLBACK_FRAME_SIDE = 640;
var model = { info: null, palette: [] };
var refreshCode = () => {
};
function initPageFeatures({ loadFile: loadFile2, ask: ask2, showMessage: showMessage2 }) {
  const request = () => ({ params: requestParams(), token: currentToken() });
  showPasteHint();
  bindExamples(loadFile2, showMessage2);
  bindClassFilter({
    onChange: () => {
      refreshCode();
      ask2();
      refreshGallery();
    }
  });
  bindCamera({
    getRequest: request,
    getPalette: () => model.palette,
    getFrameSide: inputSide,
    // frames and snapshots: what the model looks at, no more (speed over detail)
    onSnapshot: (file) => {
      loadFile2(file);
      $7("stage").scrollIntoView({ block: "nearest" });
    }
  });
  bindGallery({
    getRequest: request,
    getPalette: () => model.palette,
    getLimits: () => ({
      maxBatch: maxBatchOf(model.info),
      maxBytes: Number(document.body.dataset.maxRequestBytes) || 0,
      uploadSide: model.info?.input_size ? uploadSideFor([model.info.input_size]) : 0
    }),
    onOpen: (file) => {
      loadFile2(file);
      $7("stage").scrollIntoView({ block: "nearest" });
    }
  });
  refreshCode = bindCodePanel(() => ({
    params: requestParams(),
    authRequired: document.body.dataset.authRequired === "true"
  }));
  bindMoreSettings();
  $7("settings").addEventListener("input", () => refreshCode());
  $7("settings").addEventListener("click", () => refreshCode());
}
function bindMoreSettings() {
  const toggle2 = $7("more-settings-toggle");
  toggle2.addEventListener("click", () => {
    const open = toggle2.getAttribute("aria-expanded") !== "true";
    toggle2.setAttribute("aria-expanded", String(open));
    toggle2.textContent = open ? "Fewer settings" : "More settings";
    $7("settings").dataset.expanded = String(open);
  });
}
function loadFiles(files) {
  showGallery(files);
}
function onModelInfo(info) {
  model.info = info;
  model.palette = info.palette ?? [];
  setClassNames(info.class_names);
  refreshCode();
}
function onSettingsSettled() {
  refreshGallery();
}
function onNewImage() {
  forgetFoundClasses();
  $7("small-image-note").hidden = true;
  $7("photo").classList.remove("upscaled");
  $7("photo").style.width = "";
}
function onImageShown(photo2) {
  markSmallImage(photo2, $7("small-image-note"), inputSide(0));
}
function onResult(body) {
  showClassCounts(body);
  refreshCode();
}
function inputSide(fallback = FALLBACK_FRAME_SIDE) {
  const size = model.info?.input_size;
  return size ? Math.max(size.width, size.height) : fallback;
}

// webapp/static/preview.js
var HIDEABLE = ["score_th", "min_height", "min_width", "maxResults"];
var SIZES = ["min_height", "min_width"];
function floorParams(params, dragged, ranges) {
  const floor = { ...params, score_th: String(ranges.score_th.min), maxResults: String(ranges.maxResults.max) };
  if (SIZES.includes(dragged)) floor[dragged] = String(ranges[dragged].min);
  return floor;
}
function floorKey(floor) {
  return JSON.stringify(Object.entries(floor).sort());
}
function hideBoxes(slot, params) {
  const { width, height } = slot.image;
  const score = Number(params.score_th);
  const minWidth = Number(params.min_width) * width;
  const minHeight = Number(params.min_height) * height;
  const kept = slot.detections.filter(({ score: s, box: [x1, y1, x2, y2] }) => {
    return s >= score && x2 - x1 >= minWidth && y2 - y1 >= minHeight;
  });
  return kept.slice(0, Number(params.maxResults));
}
function previewBody(body, params) {
  const slot = body.responses[0];
  return { ...body, preview: true, responses: [{ ...slot, detections: hideBoxes(slot, params) }] };
}

// webapp/static/results.js
var $8 = (id) => document.getElementById(id);
function clearResults() {
  $8("detection-rows").replaceChildren();
  $8("detections").hidden = true;
  $8("result-count").hidden = true;
  $8("summary").textContent = "";
  $8("download-image").disabled = true;
  $8("download-json").disabled = true;
}
function renderResults(body, palette2, { onHighlight }) {
  const slot = body.responses[0];
  const rows = slot.detections.map((detection, index) => detectionRow(detection, index, palette2, onHighlight));
  $8("detection-rows").replaceChildren(...rows);
  if (rows.length) rows[0].tabIndex = 0;
  $8("detections").hidden = rows.length === 0;
  const count = $8("result-count");
  count.textContent = String(rows.length);
  count.hidden = false;
  if (!body.preview) $8("summary").textContent = `${describeCount(rows.length)} ${describeTiming(body, slot)}`.trim();
}
function detectionRow(detection, index, palette2, onHighlight) {
  const row = document.createElement("tr");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.backgroundColor = classColour(detection.class_id, palette2);
  const name = document.createElement("span");
  name.textContent = detection.class_name;
  const boxText = detection.box.map((value) => Math.round(value)).join(", ");
  row.append(
    cell([swatch, name], "class-cell"),
    cell([detection.score.toFixed(2)], "num"),
    cell([boxText], "box-cell")
  );
  row.tabIndex = -1;
  row.addEventListener("mouseenter", () => onHighlight(index));
  row.addEventListener("mouseleave", () => onHighlight(-1));
  row.addEventListener("focus", () => onHighlight(index));
  row.addEventListener("blur", () => onHighlight(-1));
  row.addEventListener("keydown", moveFocus);
  return row;
}
function moveFocus(event) {
  const row = event.currentTarget;
  const rows = [...row.parentElement.children];
  const index = rows.indexOf(row);
  const target = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: rows.length - 1 }[event.key];
  if (target === void 0 || !rows[target]) return;
  event.preventDefault();
  row.tabIndex = -1;
  rows[target].tabIndex = 0;
  rows[target].focus();
}
function cell(children, className) {
  const td = document.createElement("td");
  td.className = className;
  td.append(...children);
  return td;
}
function describeCount(count) {
  const asked = classParams().classes;
  if (count === 0 && asked) {
    return `No ${asked.join(" or ")} found with these settings; try a lower minimum score, or look for all kinds.`;
  }
  if (count === 0) return "Nothing found with these settings; try a lower minimum score.";
  return count === 1 ? "1 object found." : `${count} objects found.`;
}
function describeTiming(body, slot) {
  const total = body.timings_ms?.total;
  if (total === void 0) return "";
  const model2 = slot.timings_ms?.inference;
  const modelPart = model2 === void 0 ? "" : ` (model ${Math.round(model2)} ms)`;
  return `Server time ${Math.round(total)} ms${modelPart}.`;
}

// webapp/static/picker.js
function bindImageInputs(onFile, onFiles = (files) => onFile(files[0])) {
  const input = document.getElementById("file-input");
  const dropZone = document.getElementById("drop-zone");
  const take = (files) => files.length > 1 ? onFiles(files) : files.length && onFile(files[0]);
  dropZone.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    take([...input.files]);
    input.value = "";
  });
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
    const files = [...event.clipboardData?.files ?? []];
    const images = files.filter((candidate) => candidate.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    take(images.length ? images : files.slice(0, 1));
  });
}
function hasFiles(event) {
  return Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes("Files");
}

// webapp/static/transfer.js
var $9 = (id) => document.getElementById(id);
function resetProgress() {
  $9("upload-progress").hidden = true;
  $9("spinner-text").textContent = "Detecting…";
}
function showProgress2(sent, total) {
  const progress = $9("upload-progress");
  const uploading = total > 0 && sent < total;
  progress.hidden = !uploading;
  progress.max = total || 1;
  progress.value = sent;
  $9("spinner-text").textContent = uploading ? `Sending ${kilobytes(sent)} of ${kilobytes(total)}…` : "Detecting…";
}
function showTransfer({ elapsedMs, serverMs, sentBytes, upload }) {
  const parts = [`Answer in ${duration(elapsedMs)}`];
  if (serverMs !== void 0) {
    parts[0] += `: network ${duration(Math.max(0, elapsedMs - serverMs))}, server ${duration(serverMs)}.`;
  } else {
    parts[0] += ".";
  }
  if (!sentBytes) parts.push("Sent only the settings: the server still had the image.");
  else if (upload.shrunk) {
    parts.push(
      `Sent ${kilobytes(sentBytes)}: a ${upload.width}×${upload.height} copy of the ${upload.originalWidth}×${upload.originalHeight} original.`
    );
  } else parts.push(`Sent ${kilobytes(sentBytes)}.`);
  const line = $9("transfer");
  line.textContent = parts.join(" ");
  line.dataset.sentBytes = String(sentBytes);
  line.dataset.networkMs = String(Math.round(Math.max(0, elapsedMs - (serverMs ?? 0))));
  line.dataset.serverMs = String(Math.round(serverMs ?? 0));
  line.hidden = false;
}
function clearTransfer() {
  const line = $9("transfer");
  line.textContent = "";
  line.hidden = true;
}
function kilobytes(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}
function duration(ms) {
  return ms >= 1e3 ? `${(ms / 1e3).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

// webapp/static/app.js
var $10 = (id) => document.getElementById(id);
var photo = $10("photo");
var overlay = $10("overlay");
var tokenInput = $10("api-token");
var TOKEN_KEY = "detection-api-token";
var infoLocked = document.body.dataset.infoLocked === "true";
var sliderControl = { cancelPending: () => {
} };
var modelInfoLoaded = Promise.resolve();
var state = {
  file: null,
  // the image as chosen
  imageId: 0,
  // counts images, so answers for an earlier one are known as such
  fileUrl: "",
  browserCanShow: true,
  // false: the browser cannot decode it (e.g. TIFF), so the server draws the boxes
  upload: null,
  // what is sent for `file`: prepareUpload's {blob, width, height, originalWidth, ..., shrunk}
  shown: Promise.resolve(false),
  // resolves to whether the browser could show `file`
  sha256: "",
  // the server's hash of upload.blob once it has answered: later requests send only this
  seenBy: /* @__PURE__ */ new Set(),
  // the models that have answered for these bytes: those may be asked by sha256
  uploadSide: 0,
  // longest side worth sending, from the models' input sizes (0: unknown, send as is)
  result: null,
  // the answer drawn (boxes in the original's pixels); `preview: true` while a slider is dragged
  answeredKey: "",
  // the parameters of the newest server answer drawn
  sequence: 0,
  // only the newest request may update the page
  controller: null,
  // the request in flight (one at a time)
  askAgain: false,
  // the settings changed while a request was in flight
  highlight: -1,
  floors: /* @__PURE__ */ new Map(),
  // floor answers for this image (server pixels), by floorKey
  floorAsked: /* @__PURE__ */ new Set(),
  // floor keys asked for and not yet answered
  dragKey: "",
  // the floor key of the drag in progress ("" when none)
  retry: () => requestPrediction()
  // what Retry does
};
function setStatus(status) {
  document.body.dataset.status = status;
  $10("spinner").hidden = status !== "busy";
  $10("frame").setAttribute("aria-busy", String(status === "busy"));
}
function showMessage(text, { retry = false } = {}) {
  const message = $10("message");
  message.textContent = text;
  message.hidden = !text;
  state.retry = typeof retry === "function" ? retry : () => requestPrediction();
  $10("retry").hidden = !(text && retry);
}
function paramsKey(params) {
  return JSON.stringify(Object.entries(params).sort());
}
function dropPendingAnswers() {
  sliderControl.cancelPending();
  state.controller?.abort();
  state.controller = null;
  state.askAgain = false;
  state.sequence++;
}
function resetImage(file) {
  state.file = file;
  state.imageId++;
  state.upload = null;
  state.sha256 = "";
  state.seenBy = /* @__PURE__ */ new Set();
  state.result = null;
  state.answeredKey = "";
  state.highlight = -1;
  state.floors = /* @__PURE__ */ new Map();
  state.floorAsked = /* @__PURE__ */ new Set();
  state.dragKey = "";
  delete document.body.dataset.preview;
  clearResults();
  clearTransfer();
  clearCompare();
  renderOverlay();
}
function forgetImage() {
  resetImage(null);
  $10("stage").hidden = true;
  delete document.body.dataset.hasImage;
}
async function loadFile(file, { caption = "" } = {}) {
  dropPendingAnswers();
  onNewImage();
  showMessage("");
  resetImage(file);
  URL.revokeObjectURL(state.fileUrl);
  state.fileUrl = URL.createObjectURL(file);
  $10("file-name").textContent = file.name || "Pasted image";
  $10("image-credit").textContent = caption ? ` · ${caption}` : "";
  photo.alt = `The chosen image, ${file.name || "pasted from the clipboard"}`;
  document.body.dataset.hasImage = "true";
  setStatus("busy");
  performance.mark("page:image-chosen");
  photo.src = state.fileUrl;
  state.shown = photo.decode().then(
    () => true,
    () => false
  );
  state.shown.then((shown) => {
    if (state.file !== file) return;
    $10("stage").hidden = !shown;
    if (shown) onImageShown(photo);
  });
  await modelInfoLoaded;
  const upload = await prepareUpload(file, state.uploadSide || Infinity);
  if (state.file !== file) return;
  performance.mark("page:upload-ready");
  state.upload = upload ?? { blob: file, width: 0, height: 0, originalWidth: 0, originalHeight: 0, shrunk: false };
  state.browserCanShow = upload !== null;
  const limit = Number(document.body.dataset.maxRequestBytes);
  const size = state.upload.blob.size;
  if (limit && size >= limit) {
    forgetImage();
    showMessage(tooLargeMessage(size, limit));
    setStatus("error");
    return;
  }
  requestPrediction();
}
function requestPrediction() {
  if (!state.file || !state.upload) return;
  setStatus("busy");
  if (state.controller) {
    state.askAgain = true;
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
    state.askAgain = false;
    showFailure(error);
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      if (state.askAgain) sendPrediction();
    }
  }
}
async function predictCurrentImage(params, signal) {
  const onBusy = (seconds) => showMessage(busyMessage(seconds));
  const request = { params, token: currentToken(), annotate: !state.browserCanShow, signal, onBusy };
  if (state.sha256 && state.seenBy.has(params.model ?? "") && !request.annotate) {
    try {
      return { ...await predict({ ...request, sha256: state.sha256 }), sentBytes: 0 };
    } catch (error) {
      if (error.code !== IMAGE_NOT_CACHED) throw error;
      state.seenBy.clear();
    }
  }
  const answer = await predict({ ...request, file: uploadFile(), onProgress: showProgress2 });
  return { ...answer, sentBytes: state.upload.blob.size };
}
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
async function showResult(body) {
  state.result = body;
  const slot = body.responses[0];
  if (!state.browserCanShow && !body.preview) {
    photo.src = `data:${slot.annotated_image_type || "image/png"};base64,${slot.annotated_image}`;
    await photo.decode();
    $10("stage").hidden = false;
  }
  document.body.dataset.preview = String(Boolean(body.preview));
  if (!body.preview) showMessage("");
  showModelInHeader(body.model);
  const count = slot.detections.length;
  $10("main-label").textContent = `${titleOf(body.model)}: ${count === 1 ? "1 object" : `${count} objects`}`;
  renderOverlay();
  renderResults(body, palette(), {
    onHighlight: (index) => {
      state.highlight = index;
      renderOverlay();
    }
  });
  if (body.preview) return;
  onResult(body);
  $10("download-image").disabled = false;
  $10("download-json").disabled = false;
}
function showFailure(error) {
  const text = error instanceof FriendlyError ? error.message : "Something went wrong in this page. Reload it and try again.";
  if (!(error instanceof FriendlyError)) console.warn(error);
  showMessage(text, { retry: Boolean(state.upload) && mayHelpToRetry(error) });
  setStatus("error");
  if (error.status === 401) tokenInput?.focus();
}
function mayHelpToRetry(error) {
  const status = error.status ?? 0;
  return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500;
}
function startDrag(param) {
  const model2 = requestParams().model ?? "";
  if (!HIDEABLE.includes(param) || !state.result || !state.sha256 || !state.seenBy.has(model2)) return;
  if (!state.browserCanShow) return;
  const floor = floorParams(requestParams(), param, sliderRanges());
  state.dragKey = floorKey(floor);
  if (!state.floors.has(state.dragKey) && !state.floorAsked.has(state.dragKey)) askFloor(floor, state.dragKey);
}
function drag() {
  if (!state.dragKey) {
    if (state.file) setStatus("busy");
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
    if (error.code === IMAGE_NOT_CACHED && imageId === state.imageId) state.seenBy.clear();
  } finally {
    state.floorAsked.delete(key);
  }
}
function settled() {
  const dragged = Boolean(state.dragKey);
  state.dragKey = "";
  const unchanged = paramsKey(requestParams()) === state.answeredKey;
  if (dragged && unchanged && !state.result?.preview && document.body.dataset.status === "done") return;
  requestPrediction();
  onSettingsSettled();
}
function renderOverlay() {
  const slot = state.result?.responses[0];
  const ctx = fitOverlay(overlay, photo);
  const ratio = window.devicePixelRatio || 1;
  overlay.dataset.boxCount = String(slot ? slot.detections.length : 0);
  if (!slot || !state.browserCanShow) return;
  drawDetections(ctx, slot.detections, {
    scale: overlay.width / slot.image.width,
    palette: palette(),
    lineWidth: 2 * ratio,
    fontSize: 12 * ratio,
    highlight: state.highlight
  });
}
async function downloadImage() {
  const slot = state.result?.responses[0];
  if (!slot) return;
  try {
    const { type, extension } = chosenImageFormat();
    let blob;
    if (state.browserCanShow) blob = await renderAnnotatedImage(photo, slot, palette(), type);
    else if (type === (slot.annotated_image_type || "image/png")) blob = base64ToBlob(slot.annotated_image, type);
    else blob = await renderAnnotatedImage(photo, { ...slot, detections: [] }, palette(), type);
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
async function loadModelInfo() {
  const token = currentToken();
  if (infoLocked && !token) {
    $10("model-details").textContent = "";
    return;
  }
  try {
    const { models } = await loadModels(infoLocked ? token : "");
    fillModelPickers(models);
    const info = describe(selectedModel());
    onModelInfo(info);
    showModelInHeader(selectedModel() || info.name);
    const sizes = models.map((model2) => model2.input_size).filter(Boolean);
    if (sizes.length) state.uploadSide = uploadSideFor(sizes);
    if (state.result) await showResult(state.result);
  } catch (error) {
    showMessage(modelsFailureText(error));
  }
}
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
  let loading = null;
  const tokenGiven = () => {
    if (infoLocked && !modelsKnown() && !loading) {
      loading = loadModelInfo().finally(() => loading = null);
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
    onInput: () => state.file && setStatus("busy"),
    // results are stale until the next answer
    onSettled: settled,
    onDragStart: startDrag,
    onDrag: drag
  });
  bindCompare({
    getImage: () => state.upload && state.sha256 ? {
      id: state.imageId,
      upload: state.upload,
      sha256: state.sha256,
      seenBy: state.seenBy,
      url: state.fileUrl,
      file: uploadFile,
      canShow: state.browserCanShow
    } : null,
    getParams: requestParams,
    getToken: currentToken,
    getPalette: palette,
    titleOf,
    onToggle: () => requestAnimationFrame(() => renderOverlay())
  });
  $10("model")?.addEventListener("change", modelChanged);
  bindToken();
  $10("retry").addEventListener("click", () => {
    const retry = state.retry;
    showMessage("");
    retry();
  });
  $10("download-image").addEventListener("click", downloadImage);
  $10("download-json").addEventListener("click", downloadJson);
  new ResizeObserver(() => renderOverlay()).observe(photo);
  window.addEventListener("resize", () => {
    renderOverlay();
    drawCompare();
  });
  window.addEventListener("unhandledrejection", (event) => showFailure(event.reason ?? new Error("unknown")));
  modelInfoLoaded = loadModelInfo();
  setStatus("idle");
  window.earlyInput?.replay((files) => files.length > 1 ? loadFiles(files) : loadFile(files[0]));
}
main();
//# sourceMappingURL=page.js.map
