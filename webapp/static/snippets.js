// "Use it from code": the request the page makes, written as curl, Python (requests and the project's client)
// and JavaScript. Parameter names and values come from the page's own request, never from a list here.

const TOKEN_VARIABLE = "DETECTION_API_TOKEN"; // the variable the project's client reads (docs/client.md)
const IMAGE = "photo.jpg";

/** Every snippet, keyed by language: {curl, requests, client, fetch}. */
export function buildSnippets({ serverRoot, params, authRequired }) {
  const endpoint = new URL("api/predict", serverRoot).href;
  // A list (the classes) travels as one comma-separated form field, as the page sends it.
  const fields = Object.entries(params).map(([name, value]) => [name, String(value), value]);
  return {
    curl: curlSnippet(endpoint, fields, authRequired),
    requests: requestsSnippet(endpoint, fields, authRequired),
    client: clientSnippet(serverRoot, fields, authRequired),
    fetch: fetchSnippet(endpoint, fields, authRequired),
  };
}

function curlSnippet(endpoint, fields, authRequired) {
  const lines = [`curl -s ${shellQuote(endpoint)}`];
  if (authRequired) lines.push(`-H "X-Api-Token: $${TOKEN_VARIABLE}"`);
  lines.push(`-F image=@${IMAGE}`);
  // --form-string: a value is never read as "@file" or "<file" by curl.
  for (const [name, value] of fields) lines.push(`--form-string ${shellQuote(`${name}=${value}`)}`);
  return lines.join(" \\\n  ");
}

function requestsSnippet(endpoint, fields, authRequired) {
  const data = fields.map(([name, value]) => `        ${pyString(name)}: ${pyString(value)},`);
  return [
    ...(authRequired ? ["import os", ""] : []),
    "import requests",
    "",
    `with open(${pyString(IMAGE)}, "rb") as image:`,
    "    response = requests.post(",
    `        ${pyString(endpoint)},`,
    ...(authRequired ? [`        headers={"X-Api-Token": os.environ[${pyString(TOKEN_VARIABLE)}]},`] : []),
    '        files={"image": image},',
    "        data={",
    ...data.map((line) => `    ${line}`),
    "        },",
    "        timeout=30,",
    "    )",
    "response.raise_for_status()",
    'for detection in response.json()["responses"][0]["detections"]:',
    '    print(detection["class_name"], detection["score"], detection["box"])',
  ].join("\n");
}

function clientSnippet(serverRoot, fields, authRequired) {
  // The client takes Python names (maxResults -> max_results) and a list of classes.
  const argumentsText = fields.map(([name, text, value]) => `${snakeCase(name)}=${pyValue(text, value)}`);
  const token = authRequired ? `, token=os.environ[${pyString(TOKEN_VARIABLE)}]` : "";
  return [
    ...(authRequired ? ["import os", ""] : []),
    "from detection_client import DetectionClient",
    "",
    `with DetectionClient(${pyString(serverRoot)}${token}) as client:`,
    `    result = client.predict(${[pyString(IMAGE), ...argumentsText].join(", ")})`,
    'for detection in result["detections"]:',
    '    print(detection["class_name"], detection["score"], detection["box"])',
  ].join("\n");
}

function fetchSnippet(endpoint, fields, authRequired) {
  return [
    "// `file`: a File from <input type=\"file\">, or a Blob of the image's bytes.",
    "// From a page on another origin, the server must list that origin in CORS_ORIGINS.",
    "const form = new FormData();",
    'form.append("image", file);',
    ...fields.map(([name, value]) => `form.append(${JSON.stringify(name)}, ${JSON.stringify(value)});`),
    `const response = await fetch(${JSON.stringify(endpoint)}, {`,
    '  method: "POST",',
    ...(authRequired ? ['  headers: { "X-Api-Token": "<your API token>" },'] : []),
    "  body: form,",
    "});",
    "const body = await response.json();",
    "if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);",
    "for (const d of body.responses[0].detections) console.log(d.class_name, d.score, d.box);",
  ].join("\n");
}

/** A parameter as a Python literal: numbers stay numbers, a list stays a list of strings. */
function pyValue(text, value) {
  if (Array.isArray(value)) return `[${value.map((item) => pyString(String(item))).join(", ")}]`;
  return text.trim() !== "" && Number.isFinite(Number(text)) ? text : pyString(text);
}

function snakeCase(name) {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function pyString(text) {
  return JSON.stringify(text); // a JSON string is a valid Python string literal
}

function shellQuote(text) {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}
