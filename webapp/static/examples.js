// The example strip: one click fetches a sample photo from this server and runs it like a chosen file.

/**
 * Call `onFile(file, {caption})` with the photo of an example button pressed (the caption credits it);
 * `onError(text, {retry})` if it cannot be had, with Retry fetching it again.
 */
export function bindExamples(onFile, onError) {
  for (const button of document.querySelectorAll("button.example")) {
    const run = async () => {
      button.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(button.dataset.src);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const blob = await response.blob();
        onFile(new File([blob], button.dataset.name, { type: blob.type }), { caption: button.dataset.credit });
      } catch (error) {
        console.warn(error);
        onError("That example could not be loaded from the server. Check that you are online, then retry.", { retry: run });
      } finally {
        button.removeAttribute("aria-busy");
      }
    };
    button.addEventListener("click", run);
  }
}
