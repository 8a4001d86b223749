// Two models on one photo: a second model's boxes beside the first's, for the same image and settings. Each
// answer is asked for once per image and settings; by the image's sha256 when that model has seen the image, else
// with its bytes at once (asking by sha256 first would only earn a 404).
import { FriendlyError, IMAGE_NOT_CACHED, predict } from "./api.js";
import { drawDetections, fitOverlay } from "./draw.js";
import { inOriginalPixels } from "./shrink.js";

const $ = (id) => document.getElementById(id);

const compare = { options: null, model: "", body: null, askedKey: "", controller: null };

/**
 * `options`: getImage() -> {id, upload, sha256, seenBy (Set of model names), file() (the upload as a File),
 * canShow} or null; getParams(); getToken(); getPalette(); titleOf(name); onToggle() (the layout changed).
 */
export function bindCompare(options) {
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

/** The model compared with ("" when none). */
export function comparedModel() {
  return compare.model;
}

/** A new image: the second answer is for the old one. */
export function clearCompare() {
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

/** Ask the second model for the current image and settings, unless that answer is already asked for. */
export async function refreshCompare() {
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
      image.seenBy.delete(compare.model); // evicted: the bytes go now
    }
  }
  const { body } = await predict({ ...request, file: image.file() });
  image.seenBy.add(compare.model);
  return body;
}

function label(text) {
  $("compare-label").textContent = text;
}

/** The second model's boxes over its copy of the photo, at the copy's displayed scale. */
export function drawCompare() {
  const overlay = $("compare-overlay");
  const ctx = fitOverlay(overlay, $("compare-photo"));
  const slot = compare.body?.responses[0];
  overlay.dataset.boxCount = String(slot ? slot.detections.length : 0);
  if (!slot) return;
  const ratio = window.devicePixelRatio || 1;
  drawDetections(ctx, slot.detections, {
    scale: overlay.width / slot.image.width,
    palette: compare.options.getPalette(),
    lineWidth: 2 * ratio,
    fontSize: 12 * ratio,
  });
}
