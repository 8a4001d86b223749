// "Paste it with Ctrl+V" only where a keyboard is likely: a fine pointer that can hover (not a phone).

/** Show the paste hint on desktops, with the shortcut of the platform (⌘V on Apple computers). */
export function showPasteHint() {
  const hint = document.getElementById("paste-hint");
  const keyboardLikely = window.matchMedia("(hover: hover) and (pointer: fine)").matches;
  hint.hidden = !keyboardLikely;
  if (!keyboardLikely) return;
  const apple = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform ?? navigator.platform ?? "");
  document.getElementById("paste-key").textContent = apple ? "⌘" : "Ctrl";
}
