// Several images in one multipart request (the API's `image` field repeated), in batches the server accepts.
import { FriendlyError, describeFailure, retryAfterSeconds } from "./api.js";

const PREDICT_URL = "api/predict"; // relative: the page may be served under a path prefix
const FALLBACK_MAX_BATCH = 16; // only if /api/model does not say (servers before `limits`)
const FORM_OVERHEAD_BYTES = 2048; // multipart headers per file and the parameter fields, generously

/** The server's batch limit from /api/model's `limits`, or the fallback. */
export function maxBatchOf(modelInfo) {
  const limit = Number(modelInfo?.limits?.max_batch);
  return Number.isInteger(limit) && limit > 0 ? limit : FALLBACK_MAX_BATCH;
}

/**
 * Split `files` into batches of at most `maxBatch` files and `maxBytes` bytes per request (0: no byte limit).
 * Returns {batches: [[file, ...]], tooLarge: [file, ...]} (files that cannot fit in any request).
 */
export function planBatches(files, maxBatch, maxBytes) {
  const batches = [];
  const tooLarge = [];
  let current = [];
  let bytes = 0;
  for (const file of files) {
    const size = file.size + FORM_OVERHEAD_BYTES;
    if (maxBytes && size >= maxBytes) {
      tooLarge.push(file);
      continue;
    }
    if (current.length === maxBatch || (maxBytes && bytes + size >= maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += size;
  }
  if (current.length) batches.push(current);
  return { batches, tooLarge };
}

/**
 * POST `entries` with `params` in one request; resolves to the body (one slot per entry, in order). An entry is a
 * File, or {sha256} for an image the server has seen; one request carries one kind (the server answers files
 * first). A failure of the whole request rejects with FriendlyError (or the AbortError when `signal` aborts).
 */
export async function postImages(entries, { params, token, signal }) {
  const form = new FormData();
  for (const entry of entries) {
    if (entry instanceof Blob) form.append("image", entry, entry.name || "image");
    else form.append("image_sha256", entry.sha256);
  }
  for (const [name, value] of Object.entries(params)) form.append(name, String(value));
  const headers = { Accept: "application/json" };
  if (token) headers["X-Api-Token"] = token;
  let response;
  try {
    response = await fetch(PREDICT_URL, { method: "POST", body: form, headers, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new FriendlyError(describeFailure(0, null, false));
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error;
  }
  const slots = body?.responses;
  const singleFailure = entries.length === 1 && slots?.[0]?.error; // one image: its error is the request's
  if (!Array.isArray(slots) || slots.length !== entries.length || (!response.ok && !singleFailure)) {
    const error = body?.error;
    const status = error?.status ?? response.status;
    const retryAfterS = retryAfterSeconds(response.headers.get("Retry-After"));
    throw new FriendlyError(describeFailure(status, error, Boolean(token)), { status, code: error?.code ?? "", retryAfterS });
  }
  return body;
}

/** A sentence for one slot's {error: {status, code, message}}. */
export function describeSlotError(error, tokenSent) {
  return describeFailure(error.status, error, tokenSent);
}
