// Wires the page's extras to the main view: examples, class filter, camera, several images, code snippets,
// and the small touches (paste hint, small images). app.js calls the on* hooks at the matching moments.
import { maxBatchOf } from "./batch-api.js";
import { bindCamera } from "./camera.js";
import { bindClassFilter, forgetFoundClasses, setClassNames, showClassCounts } from "./class-filter.js";
import { bindCodePanel } from "./code-panel.js";
import { bindExamples } from "./examples.js";
import { bindGallery, refreshGallery, showGallery } from "./gallery.js";
import { showPasteHint } from "./paste-hint.js";
import { currentToken, requestParams } from "./request-params.js";
import { uploadSideFor } from "./shrink.js";
import { markSmallImage } from "./small-image.js";

const $ = (id) => document.getElementById(id);
const FALLBACK_FRAME_SIDE = 640; // camera frames until /api/model has answered

const model = { info: null, palette: [] };
let refreshCode = () => {};

/** `loadFile(file, {caption})` shows one image in the main view; `ask()` asks again for it; `showMessage(text, options)`. */
export function initPageFeatures({ loadFile, ask, showMessage }) {
  const request = () => ({ params: requestParams(), token: currentToken() });
  showPasteHint();
  bindExamples(loadFile, showMessage);
  bindClassFilter({
    onChange: () => {
      refreshCode();
      ask();
      refreshGallery();
    },
  });
  bindCamera({
    getRequest: request,
    getPalette: () => model.palette,
    getFrameSide: inputSide, // frames and snapshots: what the model looks at, no more (speed over detail)
    onSnapshot: (file) => {
      loadFile(file);
      $("stage").scrollIntoView({ block: "nearest" });
    },
  });
  bindGallery({
    getRequest: request,
    getPalette: () => model.palette,
    getLimits: () => ({
      maxBatch: maxBatchOf(model.info),
      maxBytes: Number(document.body.dataset.maxRequestBytes) || 0,
      uploadSide: model.info?.input_size ? uploadSideFor([model.info.input_size]) : 0,
    }),
    onOpen: (file) => {
      loadFile(file);
      $("stage").scrollIntoView({ block: "nearest" });
    },
  });
  refreshCode = bindCodePanel(() => ({
    params: requestParams(),
    authRequired: document.body.dataset.authRequired === "true",
  }));
  bindMoreSettings();
  // Any settings move changes the request the snippets show.
  $("settings").addEventListener("input", () => refreshCode());
  $("settings").addEventListener("click", () => refreshCode());
}

/** On phones only the score slider shows under the photo; "More settings" opens the others (a bottom sheet). */
function bindMoreSettings() {
  const toggle = $("more-settings-toggle");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Fewer settings" : "More settings";
    $("settings").dataset.expanded = String(open);
  });
}

/** Several files chosen, dropped or pasted at once. */
export function loadFiles(files) {
  showGallery(files);
}

/** The chosen model's description: class names for the search box, limits, the model's input size, colours. */
export function onModelInfo(info) {
  model.info = info;
  model.palette = info.palette ?? [];
  setClassNames(info.class_names);
  refreshCode();
}

/** The sliders or the model picker settled on new values (the main view asks again itself). */
export function onSettingsSettled() {
  refreshGallery();
}

/** A new image is about to be asked for. */
export function onNewImage() {
  forgetFoundClasses();
  $("small-image-note").hidden = true;
  $("photo").classList.remove("upscaled");
  $("photo").style.width = "";
}

/** The new image is decoded and shown. */
export function onImageShown(photo) {
  markSmallImage(photo, $("small-image-note"), inputSide(0));
}

/** A successful answer for the main view's image. */
export function onResult(body) {
  showClassCounts(body);
  refreshCode();
}

function inputSide(fallback = FALLBACK_FRAME_SIDE) {
  const size = model.info?.input_size;
  return size ? Math.max(size.width, size.height) : fallback;
}
