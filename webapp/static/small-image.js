// Tiny pictures: shown enlarged (pixels kept sharp) with a note that the model may do poorly on them.

const DISPLAY_SIDE = 320; // CSS pixels the longer side is enlarged to, at most the space there is

/**
 * Mark `photo` as small when its longer side is under half the model's input side (`inputSide`, pixels):
 * it is enlarged for display and `note` says why results may be poor. Returns whether it is small.
 */
export function markSmallImage(photo, note, inputSide) {
  const longer = Math.max(photo.naturalWidth, photo.naturalHeight);
  const small = longer > 0 && inputSide > 0 && longer < inputSide / 2;
  photo.classList.toggle("upscaled", small);
  photo.style.width = small ? `${Math.round((photo.naturalWidth * DISPLAY_SIDE) / longer)}px` : "";
  note.hidden = !small;
  if (small) {
    note.textContent =
      `Small image (${photo.naturalWidth}×${photo.naturalHeight} px), shown enlarged: ` +
      `results may be poor. The model looks at ${inputSide} px.`;
  }
  return small;
}
