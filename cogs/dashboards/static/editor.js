// The dashboard editor: a three-column Gridstack grid of widgets, their properties, the
// buttons and selects, and a preview the server renders from the renderer's own payload.
(function () {
  "use strict";
  const root = document.getElementById("dashboard-editor");
  if (!root || !window.GridStack) {
    return;
  }
  const base = root.dataset.base;
  const layout = JSON.parse(document.getElementById("layout-data").textContent);
  const catalogue = JSON.parse(document.getElementById("catalogue-data").textContent);
  const errorsBox = document.querySelector('[data-testid="layout-errors"]');
  const savedBox = document.querySelector('[data-testid="saved"]');
  const preview = document.querySelector('[data-testid="preview"]');
  const props = document.getElementById("widget-props");
  const widgets = new Map(layout.widgets.map((w) => [w.id, w]));
  let order = layout.widgets.map((w) => w.id);
  let selected = null;

  const DEFAULTS = {
    metric: { title: "CPU", width: 1, source: { kind: "metric", metric: "cpu.percent" }, format: "bar", unit: "%" },
    containers: { title: "Containers", width: 3, source: { kind: "containers" }, format: "status" },
    services: { title: "Services", width: 3, source: { kind: "services" }, format: "status" },
    games: { title: "Game servers", width: 3, source: { kind: "games" }, format: "status" },
    server: { title: "Members", width: 1, source: { kind: "server", stat: "members" }, format: "value" },
    markdown: { title: "Note", width: 3, source: { kind: "markdown", text: "Hello from FoundryCord" }, format: "value" },
    links: {
      title: "Links", width: 1, format: "value",
      source: { kind: "links", links: [{ label: "FoundryCord", url: "https://example.org" }] },
    },
  };

  // -- the dashboard's own fields ---------------------------------------------------------
  const title = document.getElementById("dash-title");
  const interval = document.getElementById("dash-interval");
  const colour = document.getElementById("dash-color");
  const description = document.getElementById("dash-description");
  title.value = layout.title || "";
  interval.value = layout.interval || 30;
  colour.value = "#" + (layout.color || 0).toString(16).padStart(6, "0");
  description.value = layout.description || "";
  [title, interval, colour, description].forEach((el) => el.addEventListener("input", changed));

  // -- the grid -----------------------------------------------------------------------------
  const grid = window.GridStack.init(
    { column: 3, cellHeight: 64, margin: 6, float: false, resizable: { handles: "e" } },
    document.querySelector(".dash-grid")
  );

  function label(widget) {
    const src = widget.source;
    const what = src.kind === "metric" ? src.metric : src.kind === "server" ? src.stat : src.kind;
    return { title: widget.title || "(untitled)", meta: `${what} · ${widget.format} · ${widget.width} col` };
  }

  function drawItem(el, widget) {
    const content = el.querySelector(".grid-stack-item-content");
    const text = label(widget);
    content.replaceChildren();
    const head = document.createElement("div");
    head.className = "dash-widget-title";
    head.textContent = text.title;
    const meta = document.createElement("div");
    meta.className = "dash-widget-meta";
    meta.textContent = text.meta;
    content.append(head, meta);
  }

  function addItem(widget) {
    const el = document.createElement("div");
    el.className = "grid-stack-item";
    el.dataset.widgetId = widget.id;
    el.dataset.testid = "widget";
    el.setAttribute("gs-id", widget.id);
    el.setAttribute("gs-w", String(widget.width));
    el.setAttribute("gs-h", "1");
    el.setAttribute("gs-min-w", "1");
    el.setAttribute("gs-max-w", "3");
    el.setAttribute("gs-max-h", "1");
    const content = document.createElement("div");
    content.className = "grid-stack-item-content";
    el.appendChild(content);
    drawItem(el, widget);
    el.addEventListener("click", () => select(widget.id));
    grid.el.appendChild(el);
    grid.makeWidget(el);
  }

  function readGrid() {
    const nodes = grid.engine.nodes.slice().sort((a, b) => a.y - b.y || a.x - b.x);
    order = nodes.map((n) => n.el.dataset.widgetId);
    nodes.forEach((n) => {
      const widget = widgets.get(n.el.dataset.widgetId);
      if (widget) {
        widget.width = n.w;
        drawItem(n.el, widget);
      }
    });
  }

  grid.on("change", function () {
    readGrid();
    if (selected) {
      showProps(selected);
    }
    changed();
  });
  layout.widgets.forEach(addItem);

  function newId(kind) {
    let n = 1;
    while (widgets.has(kind + n)) {
      n += 1;
    }
    return kind + n;
  }

  document.querySelectorAll("[data-add]").forEach((button) =>
    button.addEventListener("click", function () {
      const kind = button.dataset.add;
      const widget = JSON.parse(JSON.stringify(DEFAULTS[kind]));
      widget.id = newId(kind);
      widgets.set(widget.id, widget);
      order.push(widget.id);
      addItem(widget);
      readGrid();
      select(widget.id);
      changed();
    })
  );

  // -- a widget's properties ----------------------------------------------------------------
  function field(labelText, input, testid) {
    const wrap = document.createElement("div");
    wrap.className = "mb-2";
    const lab = document.createElement("label");
    lab.className = "form-label small mb-0";
    lab.textContent = labelText;
    input.classList.add(input.tagName === "SELECT" ? "form-select" : "form-control", "form-control-sm");
    input.dataset.testid = testid;
    wrap.append(lab, input);
    return wrap;
  }

  function input(value, onInput, type) {
    const el = document.createElement(type === "textarea" ? "textarea" : "input");
    if (type && type !== "textarea") {
      el.type = type;
    }
    el.value = value == null ? "" : value;
    el.addEventListener("input", () => onInput(el.value));
    return el;
  }

  function metricInput(value, onInput) {
    // Free text with the catalogue offered as suggestions (a <datalist>), so a pattern's
    // placeholder can be filled in; the server refuses a name the catalogue does not know.
    const el = input(value, onInput);
    let list = document.getElementById("metric-catalogue");
    if (!list) {
      list = document.createElement("datalist");
      list.id = "metric-catalogue";
      (catalogue.metrics || []).forEach((metric) => {
        const o = document.createElement("option");
        o.value = metric.name;
        o.textContent = metric.unit ? `${metric.label} (${metric.unit})` : metric.label;
        list.appendChild(o);
      });
      document.body.appendChild(list);
    }
    el.setAttribute("list", "metric-catalogue");
    return el;
  }

  function choice(options, value, onChange) {
    // An option is a value, or [value, label] (hosts: an opaque key and the name shown).
    const el = document.createElement("select");
    options.forEach((option) => {
      const [optionValue, label] = Array.isArray(option) ? option : [option, option];
      const o = document.createElement("option");
      o.value = String(optionValue);
      o.textContent = String(label);
      o.selected = String(optionValue) === String(value);
      el.appendChild(o);
    });
    el.addEventListener("change", () => onChange(el.value));
    return el;
  }

  function select(id) {
    selected = id;
    grid.el.querySelectorAll(".grid-stack-item").forEach((el) =>
      el.classList.toggle("selected", el.dataset.widgetId === id)
    );
    showProps(id);
  }

  function update(widget, fn) {
    fn(widget);
    const el = grid.el.querySelector(`[data-widget-id="${CSS.escape(widget.id)}"]`);
    if (el) {
      drawItem(el, widget);
    }
    changed();
  }

  function showProps(id) {
    const widget = widgets.get(id);
    props.replaceChildren();
    if (!widget) {
      return;
    }
    const src = widget.source;
    props.append(
      field("Title", input(widget.title, (v) => update(widget, (w) => { w.title = v; })), "prop-title"),
      field(
        "Width (columns)",
        choice([1, 2, 3], widget.width, (v) => {
          widget.width = Number(v);
          const el = grid.el.querySelector(`[data-widget-id="${CSS.escape(widget.id)}"]`);
          grid.update(el, { w: widget.width });
          readGrid();
          changed();
        }),
        "prop-width"
      ),
      field(
        "Format",
        choice(catalogue.formats[src.kind], widget.format, (v) => update(widget, (w) => { w.format = v; })),
        "prop-format"
      )
    );
    if (src.kind === "metric") {
      props.append(
        field("Metric (from monitoring's catalogue; {disk} is the disk chosen on the message)",
          metricInput(src.metric, (v) => update(widget, (w) => { w.source.metric = v; })), "prop-metric"),
        field("Unit", input(widget.unit, (v) => update(widget, (w) => { w.unit = v; })), "prop-unit")
      );
    }
    if (["metric", "containers", "services"].includes(src.kind)) {
      props.append(
        field("Host (empty: the host chosen on the message)",
          choice([["", "(the host chosen on the message)"]].concat(catalogue.hosts), src.host || "", (v) => update(widget, (w) => { w.source.host = v; })),
          "prop-host")
      );
    }
    if (src.kind === "server") {
      props.append(
        field("Statistic", choice(catalogue.stats, src.stat, (v) => update(widget, (w) => { w.source.stat = v; })), "prop-stat")
      );
    }
    if (src.kind === "markdown") {
      props.append(
        field("Text (Discord markdown)", input(src.text, (v) => update(widget, (w) => { w.source.text = v; }), "textarea"), "prop-text")
      );
    }
    if (src.kind === "links") {
      const lines = (src.links || []).map((l) => `${l.label} | ${l.url}`).join("\n");
      props.append(
        field("Links, one per line: label | https://…", input(lines, (v) => update(widget, (w) => {
          w.source.links = v.split("\n").filter((line) => line.trim()).map((line) => {
            const [labelText, ...rest] = line.split("|");
            return { label: labelText.trim(), url: rest.join("|").trim() };
          });
        }), "textarea"), "prop-links")
      );
    }
    props.append(
      field("Page (0 = first)", input(widget.page || 0, (v) => update(widget, (w) => { w.page = Number(v) || 0; }), "number"), "prop-page")
    );
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-sm btn-outline-danger";
    remove.textContent = "Remove widget";
    remove.dataset.testid = "remove-widget";
    remove.addEventListener("click", function () {
      const el = grid.el.querySelector(`[data-widget-id="${CSS.escape(widget.id)}"]`);
      grid.removeWidget(el);
      widgets.delete(widget.id);
      order = order.filter((w) => w !== widget.id);
      selected = null;
      props.replaceChildren();
      changed();
    });
    props.append(remove);
  }

  // -- buttons and selects -------------------------------------------------------------------
  const actions = layout.actions || [];
  const actionsBox = document.getElementById("actions");
  const newAction = document.getElementById("new-action");
  catalogue.buttons.forEach((a) => newAction.add(new Option(`button: ${a}`, `button:${a}`)));
  catalogue.selects.forEach((a) => newAction.add(new Option(`select: ${a}`, `select:${a}`)));

  function drawActions() {
    actionsBox.replaceChildren();
    actions.forEach((action, index) => {
      const row = document.createElement("div");
      row.className = "dash-action";
      const name = document.createElement("span");
      name.className = "badge text-bg-secondary";
      name.textContent = `${action.type}: ${action.action}${action.run ? " " + action.run : ""}`;
      const text = input(action.label || "", (v) => { action.label = v; changed(); });
      text.className = "form-control form-control-sm";
      text.placeholder = action.type === "button" ? "label" : "placeholder";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-sm btn-outline-danger";
      remove.textContent = "×";
      remove.setAttribute("aria-label", "Remove");
      remove.addEventListener("click", () => { actions.splice(index, 1); drawActions(); changed(); });
      row.append(name, text, remove);
      actionsBox.appendChild(row);
    });
  }
  document.getElementById("add-action").addEventListener("click", function () {
    const [type, action] = newAction.value.split(":");
    const entry = { type, action };
    if (type === "button") {
      entry.style = action === "refresh" ? "primary" : "secondary";
    }
    if (action === "run") {
      entry.run = window.prompt("Which action (e.g. speedtest)?", "speedtest") || "speedtest";
    }
    actions.push(entry);
    drawActions();
    changed();
  });
  drawActions();

  // -- preview and save -----------------------------------------------------------------------
  function current() {
    readGrid();
    const data = {
      title: title.value,
      description: description.value,
      color: parseInt(colour.value.slice(1), 16) || 0,
      interval: Number(interval.value) || 30,
      widgets: order.map((id) => widgets.get(id)).filter(Boolean),
      actions: actions,
    };
    if (layout.pages) {
      data.pages = layout.pages;
    }
    return data;
  }

  function showErrors(errors) {
    errorsBox.replaceChildren();
    errorsBox.classList.toggle("d-none", !errors.length);
    if (errors.length) {
      const list = document.createElement("ul");
      list.className = "mb-0";
      errors.forEach((e) => {
        const li = document.createElement("li");
        li.textContent = e;
        list.appendChild(li);
      });
      errorsBox.appendChild(list);
    }
  }

  async function send(path) {
    const response = await window.foundrycord.fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(current()),
    });
    const body = await response.json();
    if (response.status === 422 || body.errors) {
      showErrors(body.errors || ["the layout was refused"]);
      return null;
    }
    showErrors([]);
    preview.innerHTML = body.html; // rendered and escaped by the server's templates
    return body;
  }

  let timer = null;
  function changed() {
    savedBox.classList.add("d-none");
    window.clearTimeout(timer);
    timer = window.setTimeout(() => send("/preview"), 250);
  }

  document.querySelector('[data-testid="save"]').addEventListener("click", async function () {
    window.clearTimeout(timer);
    const body = await send("/layout");
    if (body && body.saved) {
      savedBox.classList.remove("d-none");
    }
  });
})();
