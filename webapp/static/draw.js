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
 * Draw `detections` (boxes in original-image pixels) on `ctx`, multiplied by `scale`.
 * `highlight` is the index of a detection to emphasise, or -1.
 */
export function drawDetections(ctx, detections, { scale, palette, lineWidth, fontSize, highlight = -1 }) {
  const { width, height } = ctx.canvas;
  ctx.save();
  ctx.font = `600 ${fontSize}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  ctx.textBaseline = "middle";
  // Lowest score first, so the most confident boxes and labels end up on top.
  const order = detections.map((_, index) => index).reverse();
  for (const index of order) {
    const detection = detections[index];
    const [x1, y1, x2, y2] = detection.box.map((value) => value * scale);
    const colour = classColour(detection.class_id, palette);
    const faded = highlight >= 0 && highlight !== index;
    ctx.globalAlpha = faded ? 0.3 : 1;
    ctx.lineWidth = highlight === index ? lineWidth * 2 : lineWidth;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    drawLabel(ctx, `${detection.class_name} ${detection.score.toFixed(2)}`, colour, x1, y1, fontSize, width, height);
  }
  ctx.restore();
}

/** A filled tag above the box's top-left corner (inside the box when there is no room above). */
function drawLabel(ctx, text, colour, x, y, fontSize, canvasWidth, canvasHeight) {
  const padding = Math.round(fontSize * 0.35);
  const tagHeight = Math.round(fontSize * 1.45);
  const tagWidth = Math.min(ctx.measureText(text).width + 2 * padding, canvasWidth);
  const left = Math.max(0, Math.min(x, canvasWidth - tagWidth));
  const top = Math.max(0, Math.min(y - tagHeight >= 0 ? y - tagHeight : y, canvasHeight - tagHeight));
  ctx.fillStyle = colour;
  ctx.fillRect(left, top, tagWidth, tagHeight);
  ctx.fillStyle = textColourOn(colour);
  ctx.fillText(text, left + padding, top + tagHeight / 2, tagWidth - 2 * padding);
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
