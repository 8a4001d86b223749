// Shrinking a photo in the browser before upload: the model only ever sees a few hundred pixels a side.

// The longest side sent is this many times the model's input side: measured by tools/measure_upload_shrink.py
// (12 MP COCO photos: AP at this size equals AP at the original's, for a fraction of the bytes).
export const SIDE_PER_INPUT_SIDE = 2;
export const JPEG_QUALITY = 0.9;

/** The longest side worth sending to models with these input sizes ({width, height} each). */
export function uploadSideFor(inputSizes) {
  const sides = inputSizes.map((size) => Math.max(size.width, size.height));
  return Math.round(SIDE_PER_INPUT_SIDE * Math.max(...sides));
}

/**
 * What to send for `file`: a JPEG at most `maxSide` pixels long, upright (EXIF orientation applied), when that
 * is smaller than the file; else the file itself. Resolves to {blob, width, height, originalWidth,
 * originalHeight, shrunk} (sizes upright), or null when this browser cannot decode the file (e.g. TIFF).
 */
export async function prepareUpload(file, maxSide) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return null;
  }
  const originalWidth = bitmap.width;
  const originalHeight = bitmap.height;
  const asIs = { blob: file, width: originalWidth, height: originalHeight, originalWidth, originalHeight, shrunk: false };
  try {
    const scale = maxSide / Math.max(originalWidth, originalHeight);
    if (!(scale < 1)) return asIs;
    const width = Math.max(1, Math.round(originalWidth * scale));
    const height = Math.max(1, Math.round(originalHeight * scale));
    const blob = await encodeJpeg(bitmap, width, height);
    if (blob.size >= file.size) return asIs; // a small, well-compressed file: its own bytes are cheaper
    return { blob, width, height, originalWidth, originalHeight, shrunk: true };
  } finally {
    bitmap.close(); // a 48 MP bitmap holds ~190 MB
  }
}

/** `bitmap` resized to width x height (Chrome's "high" quality: antialiased) as a JPEG Blob. */
async function encodeJpeg(bitmap, width, height) {
  const resized = await createImageBitmap(bitmap, { resizeWidth: width, resizeHeight: height, resizeQuality: "high" });
  const canvas = makeCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff"; // transparent pixels become white, as the server flattens them
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(resized, 0, 0);
  resized.close();
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality: JPEG_QUALITY });
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("JPEG encoding failed"))), "image/jpeg", JPEG_QUALITY);
  });
}

function makeCanvas(width, height) {
  if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

/**
 * The API's answer for a shrunk upload, with its boxes in the original's pixels (what the table, the drawing and
 * the downloads use). `image` becomes the original's size; what the server saw is kept as `sent_image`.
 */
export function inOriginalPixels(body, upload) {
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
