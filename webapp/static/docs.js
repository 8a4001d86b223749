// The /docs page: Swagger UI (vendored, no CDN) renders the served OpenAPI document. A file, not inline: CSP.
const root = document.getElementById("api-docs");
const dark = window.matchMedia("(prefers-color-scheme: dark)");

/** Swagger UI's own dark theme follows the system setting. */
function followColourScheme() {
  document.documentElement.classList.toggle("dark-mode", dark.matches);
}

followColourScheme();
dark.addEventListener("change", followColourScheme);
window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  validatorUrl: null, // the default asks validator.swagger.io: nothing may leave this server
  deepLinking: false, // true puts a link inside each operation's button (axe: nested-interactive)
  defaultModelsExpandDepth: 0,
  onComplete: () => {
    root.dataset.status = "ready";
  },
});
