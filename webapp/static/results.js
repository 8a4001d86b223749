// The detection list and summary beside the picture. Server text goes in as textContent, never as HTML.
import { classParams } from "./class-filter.js";
import { classColour } from "./draw.js";

const $ = (id) => document.getElementById(id);

/** Empty list, no summary, downloads off. */
export function clearResults() {
  $("detection-rows").replaceChildren();
  $("detections").hidden = true;
  $("result-count").hidden = true;
  $("summary").textContent = "";
  $("download-image").disabled = true;
  $("download-json").disabled = true;
}

/**
 * One row per detection (class, score, box) and a line with the count and the server's timing. A preview (a slider
 * dragged) changes the rows and the count only: the summary is read out by screen readers, once per answer.
 */
export function renderResults(body, palette, { onHighlight }) {
  const slot = body.responses[0];
  const rows = slot.detections.map((detection, index) => detectionRow(detection, index, palette, onHighlight));
  $("detection-rows").replaceChildren(...rows);
  if (rows.length) rows[0].tabIndex = 0; // one stop for Tab; the arrow keys move between rows
  $("detections").hidden = rows.length === 0;
  const count = $("result-count");
  count.textContent = String(rows.length);
  count.hidden = false;
  if (!body.preview) $("summary").textContent = `${describeCount(rows.length)} ${describeTiming(body, slot)}`.trim();
}

function detectionRow(detection, index, palette, onHighlight) {
  const row = document.createElement("tr");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.backgroundColor = classColour(detection.class_id, palette); // CSSOM, allowed by the CSP
  const name = document.createElement("span");
  name.textContent = detection.class_name;
  const boxText = detection.box.map((value) => Math.round(value)).join(", ");
  row.append(
    cell([swatch, name], "class-cell"),
    cell([detection.score.toFixed(2)], "num"),
    cell([boxText], "box-cell"),
  );
  // Keyboard focus highlights like the mouse does.
  row.tabIndex = -1;
  row.addEventListener("mouseenter", () => onHighlight(index));
  row.addEventListener("mouseleave", () => onHighlight(-1));
  row.addEventListener("focus", () => onHighlight(index));
  row.addEventListener("blur", () => onHighlight(-1));
  row.addEventListener("keydown", moveFocus);
  return row;
}

/** Arrow keys, Home and End move the focus (and the highlight) along the rows. */
function moveFocus(event) {
  const row = event.currentTarget;
  const rows = [...row.parentElement.children];
  const index = rows.indexOf(row);
  const target = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: rows.length - 1 }[event.key];
  if (target === undefined || !rows[target]) return;
  event.preventDefault();
  row.tabIndex = -1;
  rows[target].tabIndex = 0;
  rows[target].focus();
}

function cell(children, className) {
  const td = document.createElement("td");
  td.className = className;
  td.append(...children); // strings become text nodes
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
  if (total === undefined) return "";
  const model = slot.timings_ms?.inference;
  const modelPart = model === undefined ? "" : ` (model ${Math.round(model)} ms)`;
  return `Server time ${Math.round(total)} ms${modelPart}.`;
}
