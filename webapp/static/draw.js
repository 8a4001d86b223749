// Drawing detections on a canvas: box, label and score in each class's colour (as the server's PNG does).

const FALLBACK_PALETTE = ["#e6194b"]; // only until /api/model has answered
const JPEG_QUALITY = 0.9; // annotated downloads: a 12 MP photo is a few MB, not the PNG's 20

/** The colour of a class: palette[class_id % palette.length], the server's rule. */
export function classColour(classId, palette) {
  const colours = palette?.length ? palette : FALLBACK_PALETTE;
  return colours[classId % colours.length];
}

/** Black or white, whichever reads better on `hex` (the server's threshold). */
function textColourOn(hex) {
  const value = parseInt(hex.slice(1), 16);
  const sum = (value >> 16) + ((value >> 8) & 255) + (value & 255);
  return sum > 380 ? "#000000" : "#ffffff";
}

/** Lay `overlay` exactly over `shown` (an image or a video) at device resolution; its cleared 2D context. */
export function fitOverlay(overlay, shown) {
  const ratio = window.devicePixelRatio || 1;
  overlay.style.left = `${shown.offsetLeft}px`;
  overlay.style.top = `${shown.offsetTop}px`;
  overlay.style.width = `${shown.clientWidth}px`;
  overlay.style.height = `${shown.clientHeight}px`;
  overlay.width = Math.max(1, Math.round(shown.clientWidth * ratio));
  overlay.height = Math.max(1, Math.round(shown.clientHeight * ratio));
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  return ctx;
}

/**
 * Draw `detections` (boxes in original-image pixels, best first) on `ctx`, multiplied by `scale`.
 * `highlight` is the index of a detection to emphasise, or -1. Labels (unless `labels` is false) are placed so
 * they do not cover each other.
 */
export function drawDetections(ctx, detections, { scale, palette, lineWidth, fontSize, highlight = -1, labels = true }) {
  const { width, height } = ctx.canvas;
  ctx.save();
  ctx.font = `600 ${fontSize}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  ctx.textBaseline = "middle";
  const boxes = detections.map((detection) => detection.box.map((value) => value * scale));
  const tags = labelPlaces(ctx, detections, boxes, fontSize, width, height);
  // Lowest score first, so the most confident boxes and labels end up on top; every label over every box.
  const order = detections.map((_, index) => index).reverse();
  for (const index of order) {
    const [x1, y1, x2, y2] = boxes[index];
    ctx.globalAlpha = highlight >= 0 && highlight !== index ? 0.3 : 1;
    ctx.lineWidth = highlight === index ? lineWidth * 2 : lineWidth;
    ctx.strokeStyle = classColour(detections[index].class_id, palette);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
  }
  for (const index of labels ? order : []) {
    const colour = classColour(detections[index].class_id, palette);
    ctx.globalAlpha = highlight >= 0 && highlight !== index ? 0.3 : 1;
    drawTag(ctx, tags[index], colour, fontSize);
  }
  ctx.restore();
}

/**
 * Where each label goes ({text, left, top, width, height, padding} per detection; `boxes` scaled to the canvas),
 * best detection first: above its box, else inside its top, below it, inside its bottom,
 * else the first free place further down; the first place that covers no label already placed.
 */
export function labelPlaces(ctx, detections, boxes, fontSize, canvasWidth, canvasHeight) {
  const padding = Math.round(fontSize * 0.35);
  const tagHeight = Math.round(fontSize * 1.45);
  const placed = [];
  return detections.map((detection, index) => {
    const text = `${detection.class_name} ${detection.score.toFixed(2)}`;
    const tagWidth = Math.min(ctx.measureText(text).width + 2 * padding, canvasWidth);
    const [x1, y1, x2, y2] = boxes[index];
    const left = Math.max(0, Math.min(x1, canvasWidth - tagWidth));
    const fits = (top) => top >= 0 && top + tagHeight <= canvasHeight;
    const free = (top) => !placed.some((o) => left < o.left + o.width && o.left < left + tagWidth && top < o.top + o.height && o.top < top + tagHeight);
    const tries = [y1 - tagHeight, y1, y2, y2 - tagHeight];
    for (let top = y1 + tagHeight; top + tagHeight <= canvasHeight && tries.length < 40; top += tagHeight) tries.push(top);
    const top = tries.find((candidate) => fits(candidate) && free(candidate)) ?? Math.max(0, Math.min(y1, canvasHeight - tagHeight));
    const tag = { text, left, top, width: tagWidth, height: tagHeight, padding };
    placed.push(tag);
    return tag;
  });
}

/** A filled tag with the label in black or white, whichever reads better on the class colour. */
function drawTag(ctx, tag, colour) {
  ctx.fillStyle = colour;
  ctx.fillRect(tag.left, tag.top, tag.width, tag.height);
  ctx.fillStyle = textColourOn(colour);
  ctx.fillText(tag.text, tag.left + tag.padding, tag.top + tag.height / 2, tag.width - 2 * tag.padding);
}

/** The image at full resolution with the detections drawn, as a Blob of `type` (image/png or image/jpeg). */
export function renderAnnotatedImage(image, result, palette, type = "image/png") {
  const { width, height } = result.image;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff"; // JPEG has no transparency: white behind, as the server flattens images
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(image, 0, 0, width, height);
  const longest = Math.max(width, height);
  drawDetections(ctx, result.detections, {
    scale: 1,
    palette,
    lineWidth: Math.max(2, Math.round(longest / 300)),
    fontSize: Math.max(12, Math.round(longest / 45)),
  });
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("toBlob failed"))), type, JPEG_QUALITY);
  });
}
