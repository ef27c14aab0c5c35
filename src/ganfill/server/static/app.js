// ganfill's page: load a photo, paint a mask (white = fill), run a completion job, compare, download.
"use strict";

const $ = (id) => document.getElementById(id);
const photoCanvas = $("photo"), maskCanvas = $("mask"), resultCanvas = $("result");
const photoCtx = photoCanvas.getContext("2d"), maskCtx = maskCanvas.getContext("2d"), resultCtx = resultCanvas.getContext("2d");
const state = { file: null, image: null, faces: [], presets: {}, tool: "brush", undo: [], redo: [], job: null, results: [], chosen: 0 };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// -- loading -----------------------------------------------------------------------------------
async function loadFile(file) {
  if (!file) return;
  state.file = file;
  const image = new Image();
  image.src = URL.createObjectURL(file);
  try { await image.decode(); } catch { setStatus(`${file.name}: not an image this browser can show`, true); return; }
  state.image = image;
  for (const c of [photoCanvas, maskCanvas, resultCanvas]) { c.width = image.naturalWidth; c.height = image.naturalHeight; }
  $("viewport").style.aspectRatio = `${image.naturalWidth} / ${image.naturalHeight}`;
  photoCtx.drawImage(image, 0, 0);
  maskCtx.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
  state.undo = []; state.redo = []; state.results = [];
  showResult(false);
  $("alternatives").innerHTML = "";
  $("download").hidden = true;
  $("editor").hidden = false;
  fit();
  await detect();
}

async function detect() {
  state.faces = []; state.presets = {};  // a preset is drawn for this photo and this setting of align
  if (!$("align").checked) { setStatus("Align is off: the image must be an aligned face at the model's size."); return; }
  setStatus("Looking for a face…");
  const form = new FormData();
  form.append("image", state.file);
  const reply = await fetch("/api/v1/detect", { method: "POST", body: form });
  const data = await reply.json();
  if (!reply.ok) { setStatus(data.error, true); return; }
  state.faces = data.faces;
  if (!data.faces.length) { setStatus("No face found in this photo. Try another, or turn 'find the face' off for an aligned face.", true); return; }
  photoCtx.drawImage(state.image, 0, 0);
  photoCtx.strokeStyle = "#2f6fde";
  photoCtx.lineWidth = Math.max(1, photoCanvas.width / 300);
  for (const f of data.faces) { const [l, t, r, b] = f.box; photoCtx.strokeRect(l, t, r - l, b - t); }
  showFace();
  setStatus(`Found ${data.faces.length} face(s). Paint over what should be replaced.`);
}

// -- painting ----------------------------------------------------------------------------------
function snapshot() {
  state.undo.push(maskCtx.getImageData(0, 0, maskCanvas.width, maskCanvas.height));
  if (state.undo.length > 50) state.undo.shift();
  state.redo = [];
}

function restore(from, to) {
  if (!from.length) return;
  to.push(maskCtx.getImageData(0, 0, maskCanvas.width, maskCanvas.height));
  maskCtx.putImageData(from.pop(), 0, 0);
}

function toCanvas(event) {
  const r = maskCanvas.getBoundingClientRect();
  return [(event.clientX - r.left) * maskCanvas.width / r.width, (event.clientY - r.top) * maskCanvas.height / r.height];
}

function brushSize() { return Number($("size").value) * maskCanvas.width / 400; }

let drag = null;
maskCanvas.addEventListener("pointerdown", (e) => {
  if (state.tool === "move" || touches.size > 0) return;  // a second finger, or Move: the view pans and zooms
  maskCanvas.setPointerCapture(e.pointerId);
  snapshot();
  const [x, y] = toCanvas(e);
  drag = { x, y, x0: x, y0: y, before: maskCtx.getImageData(0, 0, maskCanvas.width, maskCanvas.height) };
  if (state.tool !== "rect") stroke(x, y, x, y);
});
maskCanvas.addEventListener("pointermove", (e) => {
  if (!drag || touches.size > 1) return;
  const [x, y] = toCanvas(e);
  if (state.tool === "rect") {
    maskCtx.putImageData(drag.before, 0, 0);
    maskCtx.fillStyle = "#fff";
    maskCtx.fillRect(Math.min(drag.x0, x), Math.min(drag.y0, y), Math.abs(x - drag.x0), Math.abs(y - drag.y0));
  } else {
    stroke(drag.x, drag.y, x, y);
  }
  drag.x = x; drag.y = y;
});
for (const type of ["pointerup", "pointercancel"]) maskCanvas.addEventListener(type, () => { drag = null; });

function stroke(x0, y0, x1, y1) {
  maskCtx.globalCompositeOperation = state.tool === "eraser" ? "destination-out" : "source-over";
  maskCtx.strokeStyle = "#fff";
  maskCtx.lineCap = "round";
  maskCtx.lineWidth = brushSize();
  maskCtx.beginPath(); maskCtx.moveTo(x0, y0); maskCtx.lineTo(x1, y1); maskCtx.stroke();
  maskCtx.globalCompositeOperation = "source-over";
}

async function preset(name) {
  // The server draws the kind where a completion with it fills (`ganfill complete --mask eyes`:
  // in every face found), once per photo; the page adds it to what is painted.
  if (!state.presets[name]) {
    try { state.presets[name] = await presetLayer(name); } catch (e) { setStatus(e.message, true); return; }
  }
  snapshot();
  maskCtx.drawImage(state.presets[name], 0, 0);
}

async function presetLayer(name) {
  // The server's mask file (white = fill) as a layer: white where it fills, transparent elsewhere.
  const form = new FormData();
  form.append("image", state.file);
  form.append("mask", name);
  form.append("align", $("align").checked ? "true" : "false");
  const reply = await fetch("/api/v1/mask", { method: "POST", body: form });
  if (!reply.ok) throw new Error((await reply.json()).error);
  const drawn = await createImageBitmap(await reply.blob());
  const layer = document.createElement("canvas");
  layer.width = maskCanvas.width; layer.height = maskCanvas.height;
  const ctx = layer.getContext("2d");
  ctx.drawImage(drawn, 0, 0);
  const pixels = ctx.getImageData(0, 0, layer.width, layer.height);
  for (let i = 0; i < pixels.data.length; i += 4) pixels.data[i + 3] = pixels.data[i];  // black: transparent
  ctx.putImageData(pixels, 0, 0);
  return layer;
}

// -- completion --------------------------------------------------------------------------------
function maskBlob() {
  // The upload: white (filled) where painted, black elsewhere, at the photo's own size.
  const out = document.createElement("canvas");
  out.width = maskCanvas.width; out.height = maskCanvas.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#000"; ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(maskCanvas, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

async function complete() {
  $("complete").disabled = true; $("cancel").hidden = false; $("progress").hidden = false; $("progress").value = 0;
  const form = new FormData();
  form.append("image", state.file);
  form.append("mask", await maskBlob(), "mask.png");
  if ($("iters").value) form.append("iters", $("iters").value);  // empty: the server's default
  form.append("samples", $("samples").value);
  form.append("dilate", $("dilate").value || "0");
  form.append("feather", $("feather").value || "0");
  form.append("grain", $("grain").value || "0");
  form.append("align", $("align").checked ? "true" : "false");
  setStatus("Queued…");
  try {
    const reply = await fetch("/api/v1/jobs", { method: "POST", body: form });
    const job = await reply.json();
    if (!reply.ok) throw new Error(job.error);
    state.job = job;
    const final = await follow(job);
    if (final.status !== "done") throw new Error(final.status === "cancelled" ? "Cancelled." : final.error);
    const result = await (await fetch(`${job.result_url}?format=json`)).json();
    await showAlternatives(result);
    setStatus(`Done in ${result.timings.total_s.toFixed(1)} s. Pick an alternative below; compare with the slider.`);
  } catch (err) {
    setStatus(err.message || String(err), true);
  } finally {
    $("complete").disabled = false; $("cancel").hidden = true; $("progress").hidden = true; state.job = null;
  }
}

function follow(job) {
  return new Promise((resolve) => {
    const events = new EventSource(job.events_url);
    events.onmessage = (e) => {
      const s = JSON.parse(e.data);
      $("progress").value = s.progress;
      if (s.status === "running") setStatus(`Searching… step ${s.iteration} of ${s.iterations}`);
      if (["done", "failed", "cancelled"].includes(s.status)) { events.close(); resolve(s); }
    };
    events.onerror = async () => { events.close(); resolve(await (await fetch(job.status_url)).json()); };
  });
}

async function showAlternatives(result) {
  state.results = [];
  $("alternatives").innerHTML = "";
  for (const [i, url] of result.images.entries()) {
    const img = new Image();
    img.src = url;
    await img.decode();
    img.alt = `completion ${i + 1}`;
    img.addEventListener("click", () => choose(i));
    $("alternatives").append(img);
    state.results.push(img);
  }
  choose(0);
}

function choose(i) {
  state.chosen = i;
  [...$("alternatives").children].forEach((el, j) => el.classList.toggle("chosen", i === j));
  drawResult();
  showResult(true);
  const link = $("download");
  link.href = state.results[i].src;
  link.download = (state.file.name.replace(/\.[^.]+$/, "") || "photo") + ".completed.png";
  link.hidden = false;
}

function drawResult() {
  const img = state.results[state.chosen];
  if (!img) return;
  const split = Number($("compare").value) / 100 * resultCanvas.width;
  resultCtx.clearRect(0, 0, resultCanvas.width, resultCanvas.height);
  resultCtx.drawImage(img, 0, 0, split, resultCanvas.height, 0, 0, split, resultCanvas.height);
}

function showResult(on) {
  resultCanvas.hidden = !on; $("compare").hidden = !on; $("hint").hidden = !on;
  maskCanvas.style.visibility = on ? "hidden" : "visible";
}

// -- zoom and pan: a 90 px face in a portrait is a few dozen screen pixels at fit ---------------
const viewport = $("viewport"), stage = $("stage");
const view = { s: 1, x: 0, y: 0 };  // the stage's scale over "fit" and its offset in CSS pixels
const MAX_ZOOM = 64;

function photoScale() { return stage.offsetWidth / photoCanvas.width; }  // CSS px per photo px at fit

function applyView() {
  const vw = viewport.clientWidth, vh = viewport.clientHeight;
  view.s = Math.min(MAX_ZOOM, Math.max(1, view.s));
  view.x = Math.min(0, Math.max(vw - stage.offsetWidth * view.s, view.x));  // the photo always fills the view
  view.y = Math.min(0, Math.max(vh - stage.offsetHeight * view.s, view.y));
  stage.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.s})`;
  stage.style.imageRendering = view.s * photoScale() > 1.5 ? "pixelated" : "auto";
  $("zoom").textContent = `${Math.round(100 * view.s * photoScale())}%`;
}

function zoomAt(factor, cx = viewport.clientWidth / 2, cy = viewport.clientHeight / 2) {
  const s = Math.min(MAX_ZOOM, Math.max(1, view.s * factor));
  view.x = cx - (cx - view.x) * s / view.s;
  view.y = cy - (cy - view.y) * s / view.s;
  view.s = s;
  applyView();
}

function centreOn(px, py, s) {  // photo pixel (px, py) in the middle of the view at scale s
  view.s = s;
  view.x = viewport.clientWidth / 2 - px * photoScale() * s;
  view.y = viewport.clientHeight / 2 - py * photoScale() * s;
  applyView();
}

function fit() { view.s = 1; view.x = 0; view.y = 0; applyView(); }

function faceBox() {
  return state.faces.length ? state.faces[0].box : [0, 0, photoCanvas.width, photoCanvas.height];
}

function showFace() {  // the face found, filling about two thirds of the view
  const [l, t, r, b] = faceBox();
  const s = 0.66 * viewport.clientWidth / ((r - l) * photoScale());
  centreOn((l + r) / 2, (t + b) / 2, s);
}

function faceAt100() {  // one photo pixel per CSS pixel, on the face: to judge the fill's sharpness
  const [l, t, r, b] = faceBox();
  centreOn((l + r) / 2, (t + b) / 2, 1 / photoScale());
}

const touches = new Map();
let panFrom = null;
viewport.addEventListener("wheel", (e) => {
  e.preventDefault();
  const r = viewport.getBoundingClientRect();
  zoomAt(Math.exp(-e.deltaY / 400), e.clientX - r.left, e.clientY - r.top);
}, { passive: false });
viewport.addEventListener("pointerdown", (e) => {
  touches.set(e.pointerId, [e.clientX, e.clientY]);
  if (state.tool === "move" || touches.size > 1) { drag = null; panFrom = { x: e.clientX, y: e.clientY, gap: gap() }; }
});
viewport.addEventListener("pointermove", (e) => {
  if (!touches.has(e.pointerId)) return;
  touches.set(e.pointerId, [e.clientX, e.clientY]);
  if (!panFrom) return;
  const [x, y] = centre(), r = viewport.getBoundingClientRect();
  view.x += x - panFrom.x; view.y += y - panFrom.y;
  if (touches.size > 1 && panFrom.gap) zoomAt(gap() / panFrom.gap, x - r.left, y - r.top); else applyView();
  panFrom = { x, y, gap: gap() };
});
for (const type of ["pointerup", "pointercancel", "pointerleave"]) {
  viewport.addEventListener(type, (e) => { touches.delete(e.pointerId); if (!touches.size) panFrom = null; });
}
function centre() {
  const pts = [...touches.values()];
  return [pts.reduce((a, p) => a + p[0], 0) / pts.length, pts.reduce((a, p) => a + p[1], 0) / pts.length];
}
function gap() {
  const [a, b] = [...touches.values()];
  return b ? Math.hypot(a[0] - b[0], a[1] - b[1]) : 0;
}
$("zoom-in").addEventListener("click", () => zoomAt(1.5));
$("zoom-out").addEventListener("click", () => zoomAt(1 / 1.5));
$("zoom-fit").addEventListener("click", fit);
$("zoom-face").addEventListener("click", faceAt100);
window.addEventListener("resize", applyView);

// -- wiring ------------------------------------------------------------------------------------
$("file").addEventListener("change", (e) => loadFile(e.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); loadFile(e.dataTransfer.files[0]); });
document.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => {
  state.tool = b.dataset.tool;
  viewport.classList.toggle("moving", state.tool === "move");
  document.querySelectorAll("[data-tool]").forEach((x) => x.classList.toggle("active", x === b));
  showResult(false);
}));
document.querySelectorAll("[data-preset]").forEach((b) => b.addEventListener("click", async () => { await preset(b.dataset.preset); showResult(false); }));
$("undo").addEventListener("click", () => restore(state.undo, state.redo));
$("redo").addEventListener("click", () => restore(state.redo, state.undo));
$("clear").addEventListener("click", () => { snapshot(); maskCtx.clearRect(0, 0, maskCanvas.width, maskCanvas.height); showResult(false); });
$("complete").addEventListener("click", complete);
$("cancel").addEventListener("click", () => state.job && fetch(`/api/v1/jobs/${state.job.id}`, { method: "DELETE" }));
$("compare").addEventListener("input", drawResult);
$("align").addEventListener("change", () => state.file && detect());
const STEP = 60;  // CSS pixels an arrow key pans
const KEYS = {
  "+": () => zoomAt(1.5), "=": () => zoomAt(1.5), "-": () => zoomAt(1 / 1.5), "0": fit, "1": faceAt100,
  ArrowLeft: () => { view.x += STEP; applyView(); }, ArrowRight: () => { view.x -= STEP; applyView(); },
  ArrowUp: () => { view.y += STEP; applyView(); }, ArrowDown: () => { view.y -= STEP; applyView(); },
  m: () => document.querySelector('[data-tool="move"]').click(),
};
document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || $("editor").hidden) return;  // typing a number, not zooming
  if (KEYS[e.key] && !e.ctrlKey && !e.metaKey) { KEYS[e.key](); e.preventDefault(); }
  if (e.key === " " && !resultCanvas.hidden) { resultCanvas.style.visibility = "hidden"; e.preventDefault(); }
  if ((e.ctrlKey || e.metaKey) && e.key === "z") restore(state.undo, state.redo);
  if ((e.ctrlKey || e.metaKey) && e.key === "y") restore(state.redo, state.undo);
});
document.addEventListener("keyup", (e) => { if (e.key === " ") resultCanvas.style.visibility = "visible"; });
