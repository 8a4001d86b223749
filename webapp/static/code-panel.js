// The "Use it from code" panel: tabs (arrow keys move between them), the snippet, and a Copy button.
import { buildSnippets } from "./snippets.js";

const $ = (id) => document.getElementById(id);
let snippets = {};

/** Wire the tabs and the Copy button; `currentRequest()` gives {params, authRequired} when drawn. */
export function bindCodePanel(currentRequest) {
  const tabs = [...document.querySelectorAll("#snippet-tabs [role=tab]")];
  const select = (tab) => {
    for (const other of tabs) {
      const chosen = other === tab;
      other.setAttribute("aria-selected", String(chosen));
      other.tabIndex = chosen ? 0 : -1;
    }
    $("snippet-panel").setAttribute("aria-labelledby", tab.id);
    showSnippet();
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: tabs.length - 1 - index }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      const next = tabs[(index + step + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  });
  $("snippet-copy").addEventListener("click", copySnippet);
  const refresh = () => updateCodePanel(currentRequest());
  $("code-panel").addEventListener("toggle", refresh);
  return refresh;
}

/** Rebuild the snippets for the page's current request (cheap; only drawn while the panel is open). */
export function updateCodePanel({ params, authRequired }) {
  if (!$("code-panel").open) return;
  const serverRoot = new URL(".", document.baseURI).href;
  snippets = buildSnippets({ serverRoot, params, authRequired });
  showSnippet();
}

function showSnippet() {
  const tab = document.querySelector("#snippet-tabs [aria-selected=true]");
  $("snippet-code").textContent = snippets[tab.dataset.language] ?? "";
  $("snippet-status").textContent = "";
}

async function copySnippet() {
  const text = $("snippet-code").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("snippet-status").textContent = "Copied.";
  } catch {
    // No clipboard access (an insecure origin, or refused): select it for Ctrl+C instead.
    window.getSelection().selectAllChildren($("snippet-code"));
    $("snippet-status").textContent = "Selected: press Ctrl+C (⌘C) to copy.";
  }
}
