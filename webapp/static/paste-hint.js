// "Paste it with Ctrl+V" only where a keyboard is likely: the stylesheet shows the hint to a fine pointer that can
// hover (not a phone), from the first paint; this names the platform's shortcut (⌘V on Apple computers).

/** The paste hint's key: ⌘ on Apple devices, else Ctrl. */
export function showPasteHint() {
  const apple = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform ?? navigator.platform ?? "");
  document.getElementById("paste-key").textContent = apple ? "⌘" : "Ctrl";
}
