// Live camera mode: frames shrunk in the browser, sent one at a time (the next only once the server has
// answered), boxes drawn over the live video, the measured frame rate shown; pause, snapshot, switch, stop.
import { describeSlotError, postImages } from "./batch-api.js";
import { drawDetections, fitOverlay } from "./draw.js";

const $ = (id) => document.getElementById(id);
const RATE_WINDOW = 8; // answers the frame rate is measured over
const FRAME_QUALITY = 0.8; // JPEG quality of the frames sent
const ERROR_PAUSE_MS = 1000; // after a failed frame, before the next: a failing server is not hammered
const BUSY_GAP_MS = [500, 8000]; // after a 429 (over this client's share): a gap between frames, doubled per 429

const camera = {
  options: null, // bindCamera's argument
  stream: null,
  facing: "environment", // the back camera on phones; laptops have only one anyway
  looping: false, // a frame loop is running
  paused: false,
  controller: null, // the frame request in flight
  answers: [], // performance.now() of the latest answers
  frames: 0,
  result: null, // {detections, width, height} of the newest answer
  gapMs: 0, // wait before each frame since the server said 429; shrinks again with each answered frame
};

/**
 * Offer the camera where the browser has one to offer. `options`: getRequest() -> {params, token},
 * getPalette(), getFrameSide() (longest side sent, pixels), onSnapshot(file), onStart().
 */
export function bindCamera(options) {
  camera.options = options;
  if (!navigator.mediaDevices?.getUserMedia) {
    $("camera-start").hidden = true; // no camera API (or not a secure origin): nothing to offer
    return;
  }
  $("camera-start").addEventListener("click", () => start());
  $("camera-pause").addEventListener("click", () => (camera.paused ? resume() : pause()));
  $("camera-snapshot").addEventListener("click", snapshot);
  $("camera-switch").addEventListener("click", switchCamera);
  $("camera-stop").addEventListener("click", stop);
  new ResizeObserver(drawBoxes).observe($("camera-video"));
  // A hidden tab sends nothing; coming back starts the loop again.
  document.addEventListener("visibilitychange", () => document.hidden || runLoop());
}

async function start() {
  $("camera-error").textContent = "";
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: camera.facing }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (error) {
    $("camera-error").textContent = cameraErrorText(error);
    return;
  }
  camera.stream = stream;
  camera.answers = [];
  camera.frames = 0;
  camera.result = null;
  const video = $("camera-video");
  video.srcObject = stream;
  $("camera").hidden = false;
  $("camera-start").hidden = true;
  document.body.dataset.camera = "on";
  setPaused(false);
  showRate();
  drawBoxes();
  camera.options.onStart?.();
  await video.play().catch(() => {});
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  $("camera-switch").hidden = cameras.length < 2;
  $("camera-pause").focus();
  $("camera").scrollIntoView({ block: "nearest" });
  runLoop();
}

function stopTracks() {
  camera.stream?.getTracks().forEach((track) => track.stop());
  camera.stream = null;
  camera.controller?.abort();
}

function stop({ focus = true } = {}) {
  stopTracks();
  $("camera-video").srcObject = null;
  $("camera").hidden = true;
  $("camera-start").hidden = false;
  delete document.body.dataset.camera;
  if (focus) $("camera-start").focus();
}

function pause() {
  setPaused(true); // the frame in flight is still answered and drawn; then the loop stops
  $("camera-video").pause();
}

function resume() {
  setPaused(false);
  camera.answers = []; // the pause is no frame interval
  $("camera-video").play().catch(() => {});
  runLoop();
}

async function switchCamera() {
  camera.facing = camera.facing === "environment" ? "user" : "environment";
  stopTracks();
  await start();
}

/**
 * The video's current picture goes to the main view (with its table and downloads), at the size live frames are
 * sent, so it gets the answer the live view showed; the camera stops.
 */
async function snapshot() {
  const video = $("camera-video");
  if (!video.videoWidth) return;
  pause();
  const side = Math.min(camera.options.getFrameSide(), Math.max(video.videoWidth, video.videoHeight));
  const blob = await grabFrame(video, side, FRAME_QUALITY);
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
  stop({ focus: false });
  camera.options.onSnapshot(new File([blob], `camera-${stamp}.jpg`, { type: "image/jpeg" }));
}

function setPaused(paused) {
  camera.paused = paused;
  $("camera-pause").textContent = paused ? "Resume" : "Pause";
  $("camera").dataset.state = paused ? "paused" : "live";
  showRate();
}

/** One loop at a time: send a frame, wait for its answer, draw it, repeat. The server's pace sets the rate. */
function runLoop() {
  if (camera.looping) return; // the running loop carries on (e.g. a resume while a frame is in flight)
  camera.looping = true;
  loop().finally(() => {
    camera.looping = false;
  });
}

async function loop() {
  const video = $("camera-video");
  while (camera.stream && !camera.paused && !document.hidden) {
    if (video.readyState < 2 || !video.videoWidth) {
      await nextPaint();
      continue;
    }
    if (camera.gapMs) await sleep(camera.gapMs);
    const longer = Math.max(video.videoWidth, video.videoHeight);
    const side = Math.min(camera.options.getFrameSide(), longer);
    const width = Math.round((video.videoWidth * side) / longer);
    const height = Math.round((video.videoHeight * side) / longer);
    const frame = new File([await grabFrame(video, side, FRAME_QUALITY)], "camera-frame.jpg", { type: "image/jpeg" });
    const controller = new AbortController();
    camera.controller = controller;
    try {
      const { params, token } = camera.options.getRequest();
      const body = await postImages([frame], { params, token, signal: controller.signal });
      const slot = body.responses[0];
      if (slot.error) {
        throw Object.assign(new Error(describeSlotError(slot.error, Boolean(token))), { status: slot.error.status });
      }
      camera.result = { detections: slot.detections, width, height };
      camera.frames += 1;
      camera.gapMs = camera.gapMs > 50 ? Math.round(camera.gapMs * 0.9) : 0;
      camera.answers = [...camera.answers, performance.now()].slice(-RATE_WINDOW);
      $("camera-error").textContent = "";
      drawBoxes();
      showRate();
    } catch (error) {
      if (error.name === "AbortError") continue; // stopped or switched: the loop condition decides
      $("camera-error").textContent = error.message;
      if (error.status === 401) pause(); // the token box needs the person, not more frames
      else if (error.status === 429) await slowDown(error.retryAfterS);
      else await sleep(ERROR_PAUSE_MS);
    } finally {
      if (camera.controller === controller) camera.controller = null;
    }
  }
}

/** Over this client's share: fewer frames from now on, and none until the server's Retry-After has passed. */
async function slowDown(retryAfterS) {
  camera.gapMs = Math.min(BUSY_GAP_MS[1], Math.max(BUSY_GAP_MS[0], camera.gapMs * 2));
  const waitMs = Math.max((retryAfterS || 0) * 1000, camera.gapMs);
  $("camera-error").textContent = `The server is busy, retrying in ${Math.ceil(waitMs / 1000)} s with fewer frames…`;
  await sleep(waitMs);
}

/** The video's picture scaled so its longer side is `side` pixels, as a JPEG Blob. */
function grabFrame(video, side, quality) {
  const scale = side / Math.max(video.videoWidth, video.videoHeight);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("frame encoding failed"))), "image/jpeg", quality);
  });
}

/** The newest answer's boxes over the video as it is displayed. */
function drawBoxes() {
  const video = $("camera-video");
  const overlay = $("camera-overlay");
  const ctx = fitOverlay(overlay, video);
  const ratio = window.devicePixelRatio || 1;
  const result = camera.result;
  overlay.dataset.boxCount = String(result ? result.detections.length : 0);
  if (!result) return;
  drawDetections(ctx, result.detections, {
    scale: overlay.width / result.width,
    palette: camera.options.getPalette(),
    lineWidth: 2 * ratio,
    fontSize: 12 * ratio,
  });
}

/** Frames per second over the latest answers, and the time one answer takes. */
function showRate() {
  const times = camera.answers;
  const output = $("camera-rate");
  $("camera").dataset.frames = String(camera.frames);
  if (camera.paused) {
    output.textContent = "Paused"; // no rate while nothing is sent
    $("camera").dataset.fps = "0";
    return;
  }
  if (times.length < 2) {
    output.textContent = "Measuring…";
    $("camera").dataset.fps = "0";
    return;
  }
  const perFrameMs = (times.at(-1) - times[0]) / (times.length - 1);
  const fps = 1000 / perFrameMs;
  $("camera").dataset.fps = fps.toFixed(2);
  output.textContent = `${fps.toFixed(1)} frames/s (${Math.round(perFrameMs)} ms each)`;
}

function cameraErrorText(error) {
  if (error.name === "NotAllowedError") return "The camera was not allowed. Allow it in the browser's site settings to use it.";
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return "No camera was found on this device.";
  if (error.name === "NotReadableError") return "The camera is busy in another program.";
  return "The camera could not be started in this browser.";
}

function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
