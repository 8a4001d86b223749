// Talking to the server: model info, predictions (bytes or the image's sha256), and its errors in words a person understands.

// Relative URLs so the page also works when the app is mounted under a path prefix.
const PREDICT_URL = "api/predict";
const MODEL_URL = "api/model";
const MODELS_URL = "api/models";

const UNREACHABLE =
  "The server cannot be reached. Check that it is running and that you are online, then try again.";

// Messages for the machine-readable error codes the API sends.
const CODE_MESSAGES = {
  unsupported_image: "That file is not an image we can read (JPEG, PNG, WebP, BMP, GIF or TIFF).",
  corrupt_image: "That image file is damaged or incomplete, so it cannot be read. Try another copy of it.",
  empty_image: "That file is empty. Choose an image file instead.",
  image_too_large: "That image has too many pixels for this server. Try a smaller version of it.",
  image_too_small: "That image is too small to look for objects in.",
  model_not_ready: "The model is still loading. Try again in a few seconds.",
};

/** The API's answer when it no longer has the image a sha256 names: the bytes must be sent again. */
export const IMAGE_NOT_CACHED = "image_not_cached";

/** An error whose message can be shown to a person as it is; `retryAfterS`: the server's Retry-After (429, 503). */
export class FriendlyError extends Error {
  constructor(message, { status = 0, code = "", retryAfterS = 0 } = {}) {
    super(message);
    this.name = "FriendlyError";
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

// A 429 (this client is over its fair share of the server) is retried after the server's Retry-After, at least
// doubling the wait each time, a few times before it is shown as an error with a Retry button.
const BUSY_RETRIES = 4;
const BUSY_MAX_WAIT_S = 60;

/** Seconds from a Retry-After header ("12"; an HTTP date is rare and read too), 0 when missing or unreadable. */
export function retryAfterSeconds(header) {
  if (!header) return 0;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 0;
}

/** What the page shows while it waits to retry. */
export function busyMessage(seconds) {
  return `The server is busy, retrying in ${seconds} s…`;
}

/** Headers for a GET of the model descriptions: the token too, for a server that wants it for them. */
function infoHeaders(token) {
  return token ? { Accept: "application/json", "X-Api-Token": token } : { Accept: "application/json" };
}

/** GET /api/model: name, family, classes, palette, limits. */
export async function fetchModelInfo(token = "") {
  let response;
  try {
    response = await fetch(MODEL_URL, { headers: infoHeaders(token) });
  } catch {
    throw new FriendlyError(UNREACHABLE);
  }
  const body = await readJson(response);
  if (!response.ok || !body) {
    throw new FriendlyError(describeFailure(response.status, body?.error, Boolean(token)), { status: response.status });
  }
  return body;
}

/** GET /api/models: every model this server serves ([] from a server without that endpoint). */
export async function fetchModelList(token = "") {
  try {
    const response = await fetch(MODELS_URL, { headers: infoHeaders(token) });
    const body = response.ok ? await readJson(response) : null;
    return body?.models ?? [];
  } catch {
    return [];
  }
}

/**
 * POST one image as multipart/form-data: its bytes (`file`) or, once the server has seen them, its `sha256`.
 * Resolves to {body, elapsedMs} for a success (elapsedMs: from sending to the whole answer received).
 * Rejects with FriendlyError (code IMAGE_NOT_CACHED: send the bytes again), or with an AbortError when
 * `signal` aborts. `onProgress(sentBytes, totalBytes)` follows the upload. A 429 is retried after the server's
 * Retry-After with a growing wait; `onBusy(secondsLeft)` is told every second meanwhile.
 */
export async function predict(request) {
  return retryWhenBusy(() => predictOnce(request), request);
}

/**
 * `send()` again after a 429 (FriendlyError with status 429), once the server's Retry-After has passed, at least
 * doubling the wait each time, BUSY_RETRIES times; `onBusy(secondsLeft)` is told every second while waiting.
 */
export async function retryWhenBusy(send, { signal, onBusy } = {}) {
  let waitS = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (error.status !== 429 || attempt >= BUSY_RETRIES) throw error;
      waitS = Math.min(BUSY_MAX_WAIT_S, Math.max(error.retryAfterS || 1, waitS * 2));
      await countDown(waitS, onBusy, signal);
    }
  }
}

/** Wait `seconds`, telling `onTick` the seconds left each second; rejects with an AbortError when `signal` aborts. */
function countDown(seconds, onTick, signal) {
  return new Promise((resolve, reject) => {
    let left = seconds;
    const tick = () => {
      if (left <= 0) return finish(resolve);
      onTick?.(left);
      left -= 1;
      timer = setTimeout(tick, 1000);
    };
    const onAbort = () => finish(() => reject(new DOMException("The request was cancelled", "AbortError")));
    const finish = (settle) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    let timer = 0;
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    tick();
  });
}

async function predictOnce({ file, sha256, params, token, annotate, signal, onProgress }) {
  const form = new FormData();
  for (const [name, value] of Object.entries(params)) form.append(name, String(value));
  if (annotate) form.append("annotate", "true");
  if (sha256) form.append("image_sha256", sha256);
  else form.append("image", file, file.name || "pasted-image");
  const headers = { Accept: "application/json" };
  if (token) headers["X-Api-Token"] = token;

  const { status, body, elapsedMs, retryAfterS } = await postWithProgress(form, headers, signal, onProgress);
  const slot = body?.responses?.[0];
  const error = body?.error ?? slot?.error;
  if (status < 200 || status > 299 || !slot || error) {
    const code = error?.code ?? "";
    const shownStatus = error?.status ?? status;
    const details = { status: shownStatus, code, retryAfterS };
    throw new FriendlyError(describeFailure(shownStatus, error, Boolean(token)), details);
  }
  return { body, elapsedMs };
}

/**
 * XMLHttpRequest, not fetch: fetch reports no upload progress. Resolves to {status, body (parsed JSON or null),
 * elapsedMs, retryAfterS}; status 0 (no answer) becomes the "cannot be reached" FriendlyError.
 */
function postWithProgress(form, headers, signal, onProgress) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException("The request was cancelled", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", PREDICT_URL);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.total));
    const onAbort = () => xhr.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const finished = () => signal?.removeEventListener("abort", onAbort);
    let sentAt = 0;
    xhr.addEventListener("load", () => {
      finished();
      const retryAfterS = retryAfterSeconds(xhr.getResponseHeader("Retry-After"));
      resolve({ status: xhr.status, body: parseJson(xhr.responseText), elapsedMs: performance.now() - sentAt, retryAfterS });
    });
    xhr.addEventListener("error", () => {
      finished();
      reject(new FriendlyError(UNREACHABLE));
    });
    xhr.addEventListener("abort", () => {
      finished();
      reject(new DOMException("The request was cancelled", "AbortError"));
    });
    sentAt = performance.now();
    xhr.send(form);
  });
}

/** The page's own check before uploading: the server would refuse the file anyway. */
export function tooLargeMessage(size, limit) {
  return `That file is ${megabytes(size)}; this server accepts up to ${megabytes(limit)}. Try a smaller image.`;
}

/** A sentence for an HTTP status and the API's {code, message} error object (which may be missing). */
export function describeFailure(status, error, tokenSent) {
  const code = error?.code ?? "";
  if (CODE_MESSAGES[code]) return CODE_MESSAGES[code];
  if (status === 401) {
    return tokenSent
      ? "The server did not accept that API token. Check it and try again."
      : "This server needs an API token. Type it in the “API token” box at the top, then try again.";
  }
  if (status === 413) return "That file is too large for this server. Try a smaller image.";
  if (code === "invalid_parameter") return `The server refused one of the settings: ${error.message}.`;
  if (status === 429) return "The server is busy. Wait a moment and try again.";
  if (status === 503) return "The server is not ready yet (the model may still be loading). Try again shortly.";
  if (status >= 500) return "The server had a problem with this request. Try again in a moment.";
  if (status === 0) return UNREACHABLE;
  return `The server refused the request (HTTP ${status}). Try another image or reload the page.`;
}

/** The response's JSON, or null when it is not JSON (a proxy's HTML error page, say). */
async function readJson(response) {
  try {
    return await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return null;
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
