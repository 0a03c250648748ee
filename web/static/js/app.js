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

  // Spoilers (Discord markdown ||text||) stay hidden until clicked, or Enter/Space on one.
  function revealSpoiler(event) {
    const spoiler = event.target instanceof Element && event.target.closest(".dc-spoiler");
    if (!spoiler || spoiler.classList.contains("dc-spoiler-shown")) return;
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault(); // a link inside a hidden spoiler reveals it, it does not open
    spoiler.classList.add("dc-spoiler-shown");
    spoiler.setAttribute("aria-expanded", "true");
    spoiler.removeAttribute("role");
    spoiler.removeAttribute("tabindex");
  }
  document.addEventListener("click", revealSpoiler);
  document.addEventListener("keydown", revealSpoiler);

  // Discord timestamps (<t:…:style>) arrive drawn in UTC: show them in the reader's own time
  // zone and language, and keep relative ones ("in 5 minutes") current.
  const TIME_STYLES = {
    t: { hour: "numeric", minute: "2-digit" },
    T: { hour: "numeric", minute: "2-digit", second: "2-digit" },
    d: { day: "2-digit", month: "2-digit", year: "numeric" },
    D: { day: "numeric", month: "long", year: "numeric" },
    f: { day: "numeric", month: "long", year: "numeric", hour: "numeric", minute: "2-digit" },
    F: {
      weekday: "long", day: "numeric", month: "long", year: "numeric",
      hour: "numeric", minute: "2-digit",
    },
  };
  const UNITS = [
    ["year", 31536000], ["month", 2592000], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1],
  ];
  const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

  function relativeTime(date) {
    const seconds = (date.getTime() - Date.now()) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) {
        return relativeFormat.format(Math.round(seconds / size), unit);
      }
    }
    return relativeFormat.format(0, "second");
  }

  function showTimestamp(element) {
    const date = new Date(element.getAttribute("datetime"));
    const style = element.dataset.style;
    if (Number.isNaN(date.getTime()) || !style) return;
    const text = style === "R"
      ? relativeTime(date)
      : date.toLocaleString(undefined, TIME_STYLES[style] || TIME_STYLES.f);
    if (element.textContent !== text) element.textContent = text;
    element.title = date.toLocaleString(undefined, TIME_STYLES.F);
  }

  function showTimestampsIn(root) {
    if (root.matches && root.matches("time.dc-timestamp")) showTimestamp(root);
    if (root.querySelectorAll) root.querySelectorAll("time.dc-timestamp").forEach(showTimestamp);
  }
  showTimestampsIn(document);
  // Pages that draw messages again (the Sandbox page, the dashboard preview) add new ones.
  new MutationObserver(function (changes) {
    for (const change of changes) {
      change.addedNodes.forEach(function (node) {
        if (node.nodeType === Node.ELEMENT_NODE) showTimestampsIn(node);
      });
    }
  }).observe(document.body, { childList: true, subtree: true });
  window.setInterval(function () {
    document.querySelectorAll('time.dc-timestamp[data-style="R"]').forEach(showTimestamp);
  }, 15000);

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
