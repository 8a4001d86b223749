// The class filter: chips for the classes found (with counts) and a search box for any class of the model.
// The choice goes to the server as `classes`; the page never hides detections itself.

const $ = (id) => document.getElementById(id);

const filter = {
  classNames: [], // every class the model knows, from /api/model
  selected: [], // names to ask for, in the order chosen
  found: new Map(), // name -> count in the newest answer asked for all classes
  counts: new Map(), // name -> count in the newest answer
  onChange: () => {},
};

/** The request parameter: {classes: [names]} while classes are chosen, else nothing (all classes). */
export function classParams() {
  return filter.selected.length ? { classes: [...filter.selected] } : {};
}

/** Wire the search box, the "all classes" button and Reset; `onChange` re-asks the server. */
export function bindClassFilter({ onChange }) {
  filter.onChange = onChange;
  const search = $("class-search");
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    addFromSearch();
  });
  search.addEventListener("change", () => {
    // Picking from the list fires "change" with a complete name; a half-typed word waits for Enter.
    if (findClass(search.value)) addFromSearch();
  });
  $("class-add").addEventListener("click", addFromSearch);
  $("class-clear").addEventListener("click", () => setSelected([]));
  // The sliders' own Reset listener asks the server again; this one only empties the choice before that.
  $("reset-settings").addEventListener("click", () => {
    filter.selected = [];
    renderChips();
  });
  renderChips();
}

/** The model's class names, for the search box's suggestions and for checking what is typed. */
export function setClassNames(names) {
  filter.classNames = names ?? [];
  const options = filter.classNames.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    return option;
  });
  $("class-names").replaceChildren(...options);
}

/** A new image: its classes are not known yet (the choice itself stays). */
export function forgetFoundClasses() {
  filter.found = new Map();
  filter.counts = new Map();
  renderChips();
}

/** Counts from an answer; an answer for all classes also sets the chips offered. */
export function showClassCounts(body) {
  const counts = new Map();
  for (const detection of body.responses?.[0]?.detections ?? []) {
    counts.set(detection.class_name, (counts.get(detection.class_name) ?? 0) + 1);
  }
  filter.counts = counts;
  if (!filter.selected.length) filter.found = counts;
  renderChips();
}

function findClass(text) {
  const wanted = text.trim().toLowerCase();
  return filter.classNames.find((name) => name.toLowerCase() === wanted);
}

function addFromSearch() {
  const search = $("class-search");
  const text = search.value.trim();
  if (!text) return;
  const name = findClass(text);
  const hint = $("class-search-hint");
  if (!name) {
    hint.textContent = `This model does not know “${text}”. Pick one from the list.`;
    hint.classList.add("error-text");
    return;
  }
  hint.textContent = "";
  hint.classList.remove("error-text");
  search.value = "";
  if (!filter.selected.includes(name)) setSelected([...filter.selected, name]);
}

function setSelected(names) {
  filter.selected = names;
  renderChips();
  filter.onChange();
}

function toggle(name) {
  const chosen = filter.selected.includes(name);
  setSelected(chosen ? filter.selected.filter((other) => other !== name) : [...filter.selected, name]);
}

/** One toggle button per class found or chosen: pressed = asked for. */
function renderChips() {
  const names = [...filter.found.keys()];
  for (const name of filter.selected) if (!names.includes(name)) names.push(name);
  const chips = names.map((name) => {
    const chosen = filter.selected.includes(name);
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.dataset.className = name;
    chip.setAttribute("aria-pressed", String(chosen));
    // A chosen class counts in the newest answer; the others in the last answer for all classes.
    const count = document.createElement("span");
    count.className = "chip-count";
    count.textContent = String((chosen ? filter.counts.get(name) : filter.found.get(name)) ?? 0);
    const found = document.createElement("span");
    found.className = "visually-hidden";
    found.textContent = " found";
    const label = document.createElement("span");
    label.textContent = name;
    chip.append(label, " ", count, found);
    chip.addEventListener("click", () => toggle(name));
    return chip;
  });
  const container = $("class-chips");
  const focused = container.contains(document.activeElement) ? document.activeElement.dataset.className : null;
  container.replaceChildren(...chips);
  // Keyboard users keep their place when the chips are redrawn under them.
  if (focused !== null) (chips.find((chip) => chip.dataset.className === focused) ?? $("class-search")).focus();
  $("class-clear").hidden = filter.selected.length === 0;
  $("class-filter-state").textContent = filter.selected.length
    ? `Looking only for ${filter.selected.join(", ")}.`
    : names.length
      ? "All kinds shown. Press one to look only for it."
      : "All kinds shown.";
}
