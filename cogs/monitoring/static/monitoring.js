// The monitoring page: draws the picked metric's history with Chart.js and refreshes the
// live values every 10 s. No inline script: the page's CSP allows only 'self'.
(function () {
  "use strict";
  const canvas = document.getElementById("history-chart");
  if (!canvas || typeof Chart === "undefined") {
    const status = document.getElementById("chart-status");
    if (status) status.textContent = "Charts need Chart.js (npm ci --prefix web).";
    return;
  }
  const status = document.getElementById("chart-status");
  const hostPicker = document.getElementById("host-picker");
  const rangePicker = document.getElementById("range-picker");
  const metricPicker = document.getElementById("metric-picker");
  const tierNames = ["raw samples", "5-minute averages", "hourly averages"];
  const spans = {"1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800, "30d": 2592000, "1y": 31536000};
  let span = 3600;

  function label(ts, span) {
    const d = new Date(ts * 1000);
    if (span > 2 * 86400) return d.toLocaleDateString() + " " + d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    return d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  const chart = new Chart(canvas, {
    type: "line",
    data: {datasets: [
      {label: "average", data: [], borderColor: "#0d6efd", backgroundColor: "rgba(13,110,253,0.15)", fill: true, pointRadius: 0, tension: 0.2},
      {label: "peak", data: [], borderColor: "#dc3545", borderDash: [4, 3], pointRadius: 0, hidden: true},
    ]},
    options: {
      animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
      scales: {x: {type: "linear", ticks: {maxTicksLimit: 8, callback: (v) => label(v, span)}}, y: {beginAtZero: true}},
      plugins: {legend: {display: true}, tooltip: {callbacks: {title: (items) => items.length ? new Date(items[0].parsed.x * 1000).toLocaleString() : ""}}},
    },
  });

  const empty = document.getElementById("chart-empty");

  // The metric the page was opened with (the server selected it in the picker from the
  // URL); the picker is the truth from then on.
  function metric() {
    return metricPicker.value || canvas.dataset.metric || "cpu.percent";
  }

  function query() {
    const params = new URLSearchParams({host: hostPicker.value, range: rangePicker.value, metric: metric()});
    return params.toString();
  }

  async function load() {
    const shown = query();
    const response = await fetch(canvas.dataset.seriesUrl + "?" + shown, {credentials: "same-origin"});
    if (!response.ok) { status.textContent = "Could not load the history (HTTP " + response.status + ")."; return; }
    const body = await response.json();
    // a reload or a shared link shows the same chart
    window.history.replaceState(null, "", window.location.pathname + "?" + shown);
    span = spans[rangePicker.value] || 3600;
    chart.data.datasets[0].data = body.points.map((p) => ({x: p[0], y: p[1]}));
    chart.data.datasets[1].data = body.points.map((p) => ({x: p[0], y: p[2]}));
    chart.data.datasets[1].hidden = body.tier === 0;
    // the axis spans the range asked for, so an empty range never falls back to 0 (1970)
    chart.options.scales.x.min = body.start;
    chart.options.scales.x.max = body.end;
    chart.update();
    canvas.dataset.points = String(body.points.length);
    canvas.dataset.shown = body.metric;
    document.getElementById("chart-title").textContent = body.label + " (" + body.metric + ") · " + canvas.dataset.host;
    if (body.points.length === 0) {
      empty.classList.remove("d-none");
      status.textContent = "No data for this range yet.";
    } else {
      empty.classList.add("d-none");
      status.textContent = body.points.length + " points, " + tierNames[body.tier] + ".";
    }
  }

  async function refreshLive() {
    const response = await fetch(canvas.dataset.liveUrl + "?host=" + encodeURIComponent(hostPicker.value), {credentials: "same-origin"});
    if (!response.ok) return;
    const body = await response.json();
    for (const cell of document.querySelectorAll("[data-metric]")) {
      const value = body.values[cell.dataset.metric];
      if (value !== undefined) cell.textContent = value;
    }
  }

  rangePicker.addEventListener("change", load);
  metricPicker.addEventListener("change", load);
  hostPicker.addEventListener("change", () => hostPicker.form.submit());
  load().catch((err) => { status.textContent = "Could not load the history: " + err; });
  setInterval(() => { refreshLive().catch(() => {}); }, 10000);
})();
