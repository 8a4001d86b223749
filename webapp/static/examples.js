// The example strip: one click fetches a sample photo from this server and runs it like a chosen file.

/** Call `onFile(file)` with the photo of an example button pressed; `onError(text)` if it cannot be had. */
export function bindExamples(onFile, onError) {
  for (const button of document.querySelectorAll("button.example")) {
    button.addEventListener("click", async () => {
      button.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(button.dataset.src);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const blob = await response.blob();
        onFile(new File([blob], button.dataset.name, { type: blob.type }));
      } catch (error) {
        console.warn(error);
        onError("That example could not be loaded from the server. Reload the page and try again.");
      } finally {
        button.removeAttribute("aria-busy");
      }
    });
  }
}
