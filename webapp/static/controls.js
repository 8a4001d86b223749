// The settings: the model picker and one slider per request parameter, both rendered by the server from the
// parameters' one declaration (data-param names the API field); their values as API parameters; reset.

function sliders() {
  return [...document.querySelectorAll('input[type="range"][data-param]')];
}

function modelPicker() {
  return document.getElementById("model"); // absent when the server has one model
}

/** Show a slider's value, with as many decimals as its data-decimals asks. */
function showValue(slider) {
  const output = document.getElementById(`${slider.id}-value`);
  output.textContent = Number(slider.value).toFixed(Number(slider.dataset.decimals));
}

/** The chosen model's own defaults (e.g. its score threshold) become the sliders' defaults. */
function applyModelDefaults() {
  const picker = modelPicker();
  const overrides = picker ? JSON.parse(picker.selectedOptions[0].dataset.defaults || "{}") : {};
  for (const slider of sliders()) {
    slider.dataset.default = overrides[slider.dataset.param] ?? slider.getAttribute("value");
  }
}

/** The parameters to send, as the API names them. */
export function readParams() {
  const params = Object.fromEntries(sliders().map((slider) => [slider.dataset.param, slider.value]));
  const picker = modelPicker();
  if (picker) params.model = picker.value;
  return params;
}

/** The model chosen on the page ("" when the server has only one). */
export function selectedModel() {
  return modelPicker()?.value ?? "";
}

function resetSliders() {
  for (const slider of sliders()) {
    slider.value = slider.dataset.default;
    showValue(slider);
  }
}

/**
 * Keep the shown numbers current; `onInput` runs at once on every move (to mark results stale),
 * `onSettled` runs once the sliders have been still for `delayMs`. Choosing a model resets the sliders to its
 * defaults and asks at once. Returns `cancelPending()`, for callers about to ask with the current values anyway.
 */
export function bindSliders({ onInput, onSettled, delayMs = 150 }) {
  let timer = 0;
  const changed = () => {
    onInput();
    clearTimeout(timer);
    timer = setTimeout(onSettled, delayMs);
  };
  applyModelDefaults();
  for (const slider of sliders()) {
    showValue(slider);
    slider.addEventListener("input", () => {
      showValue(slider);
      changed();
    });
  }
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
