// FoundryCord web editor: behaviour shared by every page (no inline scripts: the CSP forbids them).
(function () {
  "use strict";

  // Ask before a form marked .js-confirm does something drastic.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("js-confirm")) {
      if (!window.confirm(form.dataset.confirm || "Are you sure?")) {
        event.preventDefault();
      }
    }
  });

  // The CSRF token for scripts that send requests with fetch().
  window.foundrycord = {
    csrfToken: function () {
      const meta = document.querySelector('meta[name="csrf-token"]');
      return meta ? meta.content : "";
    },
    fetch: function (url, options) {
      const opts = Object.assign({ credentials: "same-origin" }, options || {});
      opts.headers = Object.assign({ "X-CSRF-Token": this.csrfToken() }, opts.headers || {});
      return window.fetch(url, opts);
    },
  };
})();
