// Boxes that follow a slider while it is dragged, over any link. The server stays the one place of the detection
// logic: on drag start the page asks it once for the image at the sliders' floor (lowest score, most results, the
// dragged size at its lowest; model, overlap and kinds as they are), and while the pointer moves the browser only
// HIDES boxes of that answer (score, size, count). On release the server's answer for the exact values is drawn.
//
// Why the preview equals that answer for the score and the count: the server keeps each box's best kind scoring at
// least the threshold, merges overlapping boxes keeping the best score first, then keeps the best `maxResults`; a
// box is only ever merged into a better one, so raising the threshold or lowering the count afterwards drops the
// same boxes. For the sizes it is close but not exact (the server drops small boxes before merging, so a small box
// may have hidden a larger one in the floor's answer); the release brings the exact answer.

export const HIDEABLE = ["score_th", "min_height", "min_width", "maxResults"];
const SIZES = ["min_height", "min_width"];

/** The parameters of the floor's request for a drag of `dragged`, from the current `params` and slider `ranges`. */
export function floorParams(params, dragged, ranges) {
  const floor = { ...params, score_th: String(ranges.score_th.min), maxResults: String(ranges.maxResults.max) };
  if (SIZES.includes(dragged)) floor[dragged] = String(ranges[dragged].min);
  return floor;
}

/** One floor answer serves every drag whose floor request would be the same. */
export function floorKey(floor) {
  return JSON.stringify(Object.entries(floor).sort());
}

/**
 * The detections of `slot` (a floor answer, boxes in the pixels the server saw) that `params` keep: those scoring
 * at least score_th, at least min_width x width wide and min_height x height tall, the best maxResults of them.
 * A filter only: no box is made, moved or merged here.
 */
export function hideBoxes(slot, params) {
  const { width, height } = slot.image;
  const score = Number(params.score_th);
  const minWidth = Number(params.min_width) * width;
  const minHeight = Number(params.min_height) * height;
  const kept = slot.detections.filter(({ score: s, box: [x1, y1, x2, y2] }) => {
    return s >= score && x2 - x1 >= minWidth && y2 - y1 >= minHeight;
  });
  return kept.slice(0, Number(params.maxResults)); // the server's order: best first
}

/** `body` (a floor answer) as the answer `params` would get: its first slot's detections filtered by hideBoxes. */
export function previewBody(body, params) {
  const slot = body.responses[0];
  return { ...body, preview: true, responses: [{ ...slot, detections: hideBoxes(slot, params) }] };
}
