// Shrinking a photo in the browser before upload: the model only ever sees a few hundred pixels a side.

// The longest side sent is this many times the model's input side. tools/measure_upload_shrink.py on the COCO dev
// photos at 12 MP: every factor from 1 to 3 scores the original's AP or better (DEIMv2-Femto 33.3 -> 34.6 at 2,
// YOLOX-Nano 29.4 -> 30.1), the median upload is 113 KB instead of 2 MB. 2, not less: a model that stretches
// (DEIMv2) then still gets at least its input's pixels on both axes for photos up to 2:1 (16:9 included).
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
  let decoded;
  try {
    decoded = await decodeUpright(file);
  } catch {
    return null;
  }
  const { bitmap, upright } = decoded;
  const originalWidth = bitmap.width;
  const originalHeight = bitmap.height;
  const asIs = { blob: file, width: originalWidth, height: originalHeight, originalWidth, originalHeight, shrunk: false };
  try {
    const scale = maxSide / Math.max(originalWidth, originalHeight);
    if (!(scale < 1) || !upright) return asIs; // (orientation unknown: the server applies the file's EXIF)
    const width = Math.max(1, Math.round(originalWidth * scale));
    const height = Math.max(1, Math.round(originalHeight * scale));
    const blob = await encodeJpeg(bitmap, width, height);
    if (blob.size >= file.size) return asIs; // a small, well-compressed file: its own bytes are cheaper
    return { blob, width, height, originalWidth, originalHeight, shrunk: true };
  } finally {
    bitmap.close(); // a 48 MP bitmap holds ~190 MB
  }
}

/** The decoded image, turned upright; `upright` false where the browser does not know the option (older ones). */
async function decodeUpright(file) {
  try {
    return { bitmap: await createImageBitmap(file, { imageOrientation: "from-image" }), upright: true };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error; // not an image this browser can decode
  }
  return { bitmap: await createImageBitmap(file), upright: false };
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
