// The threshold sliders: their values as API parameters, the numbers shown beside them, reset.

const SLIDER_IDS = ["score_th", "nms_iou", "min_size", "maxResults"];

function sliders() {
  return SLIDER_IDS.map((id) => document.getElementById(id));
}

/** Show a slider's value, with as many decimals as its data-decimals asks. */
function showValue(slider) {
  const output = document.getElementById(`${slider.id}-value`);
  output.textContent = Number(slider.value).toFixed(Number(slider.dataset.decimals));
}

/** The parameters to send, as the API names them (one slider sets both minimum sizes). */
export function readParams() {
  const value = (id) => document.getElementById(id).value;
  return {
    score_th: value("score_th"),
    nms_iou: value("nms_iou"),
    min_height: value("min_size"),
    min_width: value("min_size"),
    maxResults: value("maxResults"),
  };
}

/**
 * Keep the shown numbers current; `onInput` runs at once on every move (to mark results stale),
 * `onSettled` runs once the sliders have been still for `delayMs`. Returns `cancelPending()`, for callers
 * that are about to ask the API with the current values anyway.
 */
export function bindSliders({ onInput, onSettled, delayMs = 150 }) {
  let timer = 0;
  const changed = () => {
    onInput();
    clearTimeout(timer);
    timer = setTimeout(onSettled, delayMs);
  };
  for (const slider of sliders()) {
    showValue(slider);
    slider.addEventListener("input", () => {
      showValue(slider);
      changed();
    });
  }
  document.getElementById("reset-settings").addEventListener("click", () => {
    for (const slider of sliders()) {
      slider.value = slider.dataset.default;
      showValue(slider);
    }
    changed();
  });
  return { cancelPending: () => clearTimeout(timer) };
}
