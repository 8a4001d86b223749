// What the page asks the server with: the sliders (and model picker), plus the class filter; and the token.
import { classParams } from "./class-filter.js";
import { readParams } from "./controls.js";

/** The request parameters, as the API names them. */
export function requestParams() {
  return { ...readParams(), ...classParams() };
}

/** The API token typed at the top ("" when the server needs none). */
export function currentToken() {
  return document.getElementById("api-token")?.value.trim() ?? "";
}
