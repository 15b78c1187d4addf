// htmx drops 4xx responses by default. Inside [data-swap-errors] (the alert
// note forms) the server answers a refusal (403) or invalid input (400) with
// the fragment that explains it, so swap it in like a success.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if ((status === 400 || status === 403) && event.detail.elt.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
