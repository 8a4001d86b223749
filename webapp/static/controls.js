// The settings: the model picker and one slider per request parameter, both rendered by the server from the
// parameters' one declaration (data-param names the API field); their values as API parameters; reset; and
// whether a slider is being dragged with a pointer (the page then shows a preview, see preview.js).

function sliders() {
  return [...document.querySelectorAll('input[type="range"][data-param]')];
}

function modelPicker() {
  return document.getElementById("model"); // absent when the server has one model
}

/** Show a slider's value, with as many decimals as its data-decimals asks; screen readers read it from the slider. */
function showValue(slider) {
  const text = Number(slider.value).toFixed(Number(slider.dataset.decimals));
  document.getElementById(`${slider.id}-value`).textContent = text;
  slider.setAttribute("aria-valuetext", text);
}

/** The chosen model's own defaults (e.g. its score threshold) become the sliders' defaults. */
function applyModelDefaults() {
  const option = modelPicker()?.selectedOptions[0];
  const overrides = option ? JSON.parse(option.dataset.defaults || "{}") : {};
  for (const slider of sliders()) {
    slider.dataset.default = overrides[slider.dataset.param] ?? slider.getAttribute("value");
  }
}

/** The parameters to send, as the API names them. */
export function readParams() {
  const params = Object.fromEntries(sliders().map((slider) => [slider.dataset.param, slider.value]));
  const model = selectedModel();
  if (model) params.model = model;
  return params;
}

/** The model chosen on the page ("" when the server has only one, or the picker is not filled yet). */
export function selectedModel() {
  return modelPicker()?.value ?? "";
}

/** Each slider's {min, max} as rendered (the page's range of the parameter). */
export function sliderRanges() {
  return Object.fromEntries(sliders().map((s) => [s.dataset.param, { min: Number(s.min), max: Number(s.max) }]));
}

function resetSliders() {
  for (const slider of sliders()) {
    slider.value = slider.dataset.default;
    showValue(slider);
  }
}

/** Fill the model picker (and the compare picker) from /api/models, when the page was rendered without them. */
export function fillModelPickers(models) {
  const picker = modelPicker();
  if (!picker || picker.options.length || models.length < 2) return;
  const option = (model, selected) => {
    const element = new Option(model.title || model.name, model.name, selected, selected);
    element.dataset.defaults = JSON.stringify(model.default_params ?? {});
    return element;
  };
  picker.append(...models.map((model) => option(model, model.default)));
  document.getElementById("compare-model")?.append(...models.map((model) => option(model, false)));
  document.getElementById("model-picker").hidden = false;
  document.getElementById("compare-picker").hidden = false;
  applyModelDefaults();
  resetSliders();
}

/**
 * Keep the shown numbers current. A move by keyboard (or a value set by a script) calls `onInput` at once (the
 * results are stale) and `onSettled` once the sliders have been still for `delayMs`. A pointer drag calls
 * `onDragStart(param)` on press, `onDrag(param)` on every move and `onSettled` at once on release. Choosing a model
 * resets the sliders to its defaults and asks at once. Returns `cancelPending()`, for callers about to ask with the
 * current values anyway.
 */
export function bindSliders({ onInput, onSettled, onDragStart = () => {}, onDrag = () => {}, delayMs = 150 }) {
  let timer = 0;
  let dragged = null; // the slider held by a pointer
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
  // Released anywhere (the pointer may leave the slider while held), or taken by the browser (a scroll).
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
