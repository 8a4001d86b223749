// What the page knows of the server's models: /api/model (the default, the colours, the limits) and /api/models
// (every model: title, family, kinds of objects, input size, defaults); and the header line naming the chosen one.
import { FriendlyError, fetchModelInfo, fetchModelList } from "./api.js";

const $ = (id) => document.getElementById(id);

const known = { byName: new Map(), defaultName: "", palette: [], limits: null };

/** Load both; with `token` where the server wants one for them. Rejects with FriendlyError. */
export async function loadModels(token) {
  const [info, models] = await Promise.all([fetchModelInfo(token), fetchModelList(token)]);
  known.palette = info.palette ?? [];
  known.limits = info.limits ?? null;
  known.defaultName = info.name;
  known.byName = new Map((models.length ? models : [info]).map((model) => [model.name, model]));
  if (!known.byName.has(info.name)) known.byName.set(info.name, info);
  return { info: describe(info.name), models: [...known.byName.values()] };
}

/** Whether the models have been loaded. */
export function modelsKnown() {
  return known.byName.size > 0;
}

/** One model's description (name "" = the default), with the server's colours and limits; null if unknown. */
export function describe(name) {
  const model = known.byName.get(name || known.defaultName);
  return model ? { ...model, palette: known.palette, limits: known.limits } : null;
}

export function palette() {
  return known.palette;
}

/** A model's name for people: its title (e.g. "YOLOX-Nano 416"), else its name. */
export function titleOf(name) {
  const model = describe(name);
  return model ? model.title || model.name : name;
}

/** The header names the model chosen, with its family and how many kinds of objects it knows. */
export function showModelInHeader(name) {
  const model = describe(name);
  if (!model) return;
  $("model-name").textContent = model.title || model.name;
  $("model-details").textContent = `· ${model.family.toUpperCase()} family · knows ${model.num_classes} kinds of objects`;
  document.title = `Object detection · ${model.title || model.name}`;
}

/** A sentence for a failure to load them. */
export function modelsFailureText(error) {
  return error instanceof FriendlyError ? error.message : "The models' details could not be loaded.";
}
