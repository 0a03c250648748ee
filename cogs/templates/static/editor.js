// The template structure editor: a jsTree of categories and channels, a side panel for the
// selected node's properties (overwrites included), save, diff against the live server, and
// apply with live progress. Talks JSON to /guilds/<id>/templates/api/*.
(function () {
  "use strict";
  const root = document.getElementById("template-editor");
  if (!root || !window.jQuery) {
    return;
  }
  const $ = window.jQuery;
  const api = "/guilds/" + root.dataset.guild + "/templates/api/";
  const $tree = $("#template-tree");
  const panel = document.getElementById("node-panel");
  const TYPES = ["text", "announcement", "voice", "stage", "forum"];
  const FIELDS = {
    category: [],
    text: ["topic", "nsfw", "slowmode", "default_auto_archive", "default_thread_slowmode"],
    announcement: ["topic", "nsfw", "default_auto_archive"],
    voice: ["nsfw", "slowmode", "bitrate", "user_limit", "rtc_region", "video_quality"],
    stage: ["nsfw", "slowmode", "bitrate", "user_limit", "rtc_region"],
    forum: ["topic", "nsfw", "slowmode", "default_auto_archive", "default_thread_slowmode",
      "tags", "default_reaction", "sort_order", "layout"],
  };
  const BOOL = new Set(["nsfw"]);
  const TEXT = new Set(["topic", "rtc_region"]);
  let doc = { version: 2, name: "", roles: [], channels: [] };
  let counter = 0;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function toTree(nodes) {
    return (nodes || []).map((node) => {
      const data = Object.assign({}, node);
      delete data.channels;
      delete data.name;
      return {
        id: "n" + counter++,
        text: node.name,
        type: node.type === "category" ? "category" : "channel",
        data: data,
        state: { opened: true },
        children: node.type === "category" ? toTree(node.channels) : [],
      };
    });
  }

  function toNode(json) {
    const node = Object.assign({ name: json.text }, json.data);
    if (node.type === "category") {
      node.channels = json.children.map(toNode);
    }
    return node;
  }

  function tree() {
    return $tree.jstree(true);
  }

  function currentDocument() {
    const out = Object.assign({}, doc);
    out.name = document.getElementById("template-name").value.trim();
    out.channels = tree().get_json("#").map(toNode);
    out.roles = roles;
    return out;
  }

  function showErrors(errors) {
    const list = document.getElementById("template-errors");
    list.replaceChildren(...(errors || []).map((e) => el("li", {}, e)));
  }

  function status(text) {
    document.getElementById("template-status").textContent = text;
  }

  async function call(path, body) {
    let payload;
    try {
      payload = body === undefined ? undefined : JSON.stringify(body);
    } catch (error) {
      showErrors([String(error)]);
      return null;
    }
    const response = await window.foundrycord.fetch(api + path, {
      method: body === undefined ? "GET" : "POST",
      headers: { "Content-Type": "application/json" },
      body: payload,
    });
    const data = await response.json();
    if (!response.ok) {
      showErrors(data.errors || ["The server answered " + response.status]);
      return null;
    }
    showErrors([]);
    return data;
  }

  function permissionsText(value) {
    if (Array.isArray(value)) {
      return value.join(", ");
    }
    return value || "";
  }

  function parsePermissions(text) {
    const trimmed = text.trim();
    if (/^[0-9]+$/.test(trimmed)) {
      return trimmed;
    }
    return trimmed ? trimmed.split(",").map((s) => s.trim()).filter(Boolean) : [];
  }

  function field(label, input) {
    const wrap = el("div", { class: "mb-2" });
    const id = "field-" + label.replace(/\W+/g, "-");
    input.id = id;
    const lab = el("label", { class: "form-label small mb-0", for: id }, label);
    wrap.append(lab, input);
    return wrap;
  }

  function renderPanel(node) {
    panel.replaceChildren();
    if (!node) {
      panel.append(el("p", { class: "text-body-secondary mb-0" }, "Select a channel or category."));
      return;
    }
    const data = node.data;
    const name = el("input", { class: "form-control form-control-sm" });
    name.value = node.text;
    name.addEventListener("change", () => tree().rename_node(node, name.value.trim() || node.text));
    panel.append(field("Name", name));
    if (data.type !== "category") {
      const type = el("select", { class: "form-select form-select-sm" });
      TYPES.forEach((t) => {
        const option = el("option", { value: t }, t);
        option.selected = t === data.type;
        type.append(option);
      });
      type.addEventListener("change", () => {
        data.type = type.value;
        FIELDS_ALL.forEach((key) => {
          if (!FIELDS[data.type].includes(key)) {
            delete data[key];
          }
        });
        renderPanel(tree().get_node(node.id));
      });
      panel.append(field("Type", type));
      const parent = el("select", { class: "form-select form-select-sm" });
      parent.append(el("option", { value: "#" }, "(top level)"));
      tree().get_node("#").children.forEach((id) => {
        const candidate = tree().get_node(id);
        if (candidate.type === "category") {
          const option = el("option", { value: id }, candidate.text);
          option.selected = node.parent === id;
          parent.append(option);
        }
      });
      parent.addEventListener("change", () => tree().move_node(node, parent.value, "last"));
      panel.append(field("Category", parent));
      if (node.parent !== "#") {
        const sync = el("input", { class: "form-check-input", type: "checkbox" });
        sync.checked = !!data.sync;
        sync.addEventListener("change", () => {
          data.sync = sync.checked;
          renderPanel(tree().get_node(node.id));
        });
        const wrap = el("div", { class: "form-check mb-2" });
        sync.id = "field-sync";
        wrap.append(sync, el("label", { class: "form-check-label small", for: "field-sync" },
          "Permissions synced with the category"));
        panel.append(wrap);
      }
    }
    FIELDS[data.type].forEach((key) => panel.append(propertyInput(data, key)));
    if (!data.sync) {
      panel.append(overwritesEditor(data));
    }
  }

  const FIELDS_ALL = Array.from(new Set(Object.values(FIELDS).flat()));

  function propertyInput(data, key) {
    let input;
    if (BOOL.has(key)) {
      input = el("select", { class: "form-select form-select-sm" });
      [["", "(unset)"], ["true", "yes"], ["false", "no"]].forEach(([v, t]) => {
        const option = el("option", { value: v }, t);
        option.selected = String(data[key] === undefined ? "" : data[key]) === v;
        input.append(option);
      });
      input.addEventListener("change", () => {
        if (input.value === "") delete data[key];
        else data[key] = input.value === "true";
      });
    } else if (key === "tags") {
      input = el("input", { class: "form-control form-control-sm", placeholder: "comma-separated" });
      input.value = (data.tags || []).map((t) => t.name).join(", ");
      input.addEventListener("change", () => {
        const old = new Map((data.tags || []).map((t) => [t.name, t]));
        data.tags = input.value.split(",").map((s) => s.trim()).filter(Boolean)
          .map((n) => old.get(n) || { name: n });
      });
    } else if (key === "default_reaction") {
      input = el("input", { class: "form-control form-control-sm", placeholder: "emoji" });
      input.value = data.default_reaction ? data.default_reaction.emoji_name || "" : "";
      input.addEventListener("change", () => {
        data.default_reaction = input.value ? { emoji_name: input.value, emoji_id: null } : null;
      });
    } else {
      input = el("input", { class: "form-control form-control-sm", type: TEXT.has(key) ? "text" : "number" });
      input.value = data[key] === undefined || data[key] === null ? "" : data[key];
      input.addEventListener("change", () => {
        if (input.value === "") delete data[key];
        else data[key] = TEXT.has(key) ? input.value : Number(input.value);
      });
    }
    return field(key.replace(/_/g, " "), input);
  }

  function overwritesEditor(data) {
    const box = el("div", { class: "mt-3" });
    box.append(el("div", { class: "fw-semibold small mb-1" }, "Permission overwrites"));
    const rows = el("div");
    const list = data.overwrites || [];
    function render() {
      rows.replaceChildren();
      list.forEach((ow, index) => {
        const row = el("div", { class: "row g-1 mb-1 overwrite-row" });
        const target = el("input", { class: "form-control", "aria-label": "Role or member:id" });
        target.value = ow.member ? "member:" + ow.member : ow.role || "";
        const allow = el("input", { class: "form-control", "aria-label": "Allow" });
        allow.value = permissionsText(ow.allow);
        const deny = el("input", { class: "form-control", "aria-label": "Deny" });
        deny.value = permissionsText(ow.deny);
        const remove = el("button", { class: "btn btn-sm btn-outline-danger", type: "button" }, "×");
        target.addEventListener("change", () => {
          delete ow.role;
          delete ow.member;
          const text = target.value.trim();
          if (text.startsWith("member:")) ow.member = text.slice(7);
          else ow.role = text;
        });
        allow.addEventListener("change", () => { ow.allow = parsePermissions(allow.value); });
        deny.addEventListener("change", () => { ow.deny = parsePermissions(deny.value); });
        remove.addEventListener("click", () => { list.splice(index, 1); render(); });
        [[target, 4], [allow, 4], [deny, 3]].forEach(([input, width]) => {
          const col = el("div", { class: "col-" + width });
          col.append(input);
          row.append(col);
        });
        const col = el("div", { class: "col-1" });
        col.append(remove);
        row.append(col);
        rows.append(row);
      });
      data.overwrites = list;
    }
    render();
    const add = el("button", { class: "btn btn-sm btn-outline-secondary", type: "button" }, "Add overwrite");
    add.addEventListener("click", () => { list.push({ role: "@everyone", allow: [], deny: [] }); render(); });
    box.append(el("div", { class: "small text-body-secondary" }, "role (or member:id) · allow · deny"), rows, add);
    return box;
  }

  let roles = [];

  function renderRoles() {
    const box = document.getElementById("template-roles");
    box.replaceChildren();
    roles.forEach((role, index) => {
      const row = el("div", { class: "row g-1 mb-1 align-items-center role-row" });
      const name = el("input", { class: "form-control form-control-sm", "aria-label": "Role name" });
      name.value = role.name || "";
      name.addEventListener("change", () => { role.name = name.value.trim(); });
      const color = el("input", { class: "form-control form-control-sm form-control-color", type: "color", "aria-label": "Colour" });
      color.value = "#" + (role.color || 0).toString(16).padStart(6, "0");
      color.addEventListener("change", () => { role.color = parseInt(color.value.slice(1), 16); });
      const perms = el("input", { class: "form-control form-control-sm", "aria-label": "Permissions" });
      perms.value = permissionsText(role.permissions);
      perms.addEventListener("change", () => { role.permissions = parsePermissions(perms.value); });
      const flags = el("div", { class: "col-2 small" });
      ["hoist", "mentionable"].forEach((flag) => {
        const box = el("input", { type: "checkbox", class: "form-check-input me-1", title: flag, "aria-label": flag });
        box.checked = !!role[flag];
        box.addEventListener("change", () => { role[flag] = box.checked; });
        flags.append(box);
      });
      const up = el("button", { class: "btn btn-sm btn-outline-secondary", type: "button", title: "Move up" }, "↑");
      up.disabled = index === 0;
      up.addEventListener("click", () => { roles.splice(index - 1, 0, roles.splice(index, 1)[0]); renderRoles(); });
      const remove = el("button", { class: "btn btn-sm btn-outline-danger", type: "button", title: "Delete role" }, "×");
      remove.addEventListener("click", () => { roles.splice(index, 1); renderRoles(); });
      [[name, 3], [color, 2], [perms, 3]].forEach(([input, width]) => {
        const col = el("div", { class: "col-" + width });
        col.append(input);
        row.append(col);
      });
      row.append(flags);
      const buttons = el("div", { class: "col-2 d-flex gap-1" });
      buttons.append(up, remove);
      row.append(buttons);
      box.append(row);
    });
  }

  function addNode(kind) {
    const t = tree();
    const selected = t.get_selected(true)[0];
    let parent = "#";
    if (kind === "channel" && selected) {
      parent = selected.type === "category" ? selected.id : selected.parent;
    }
    const id = t.create_node(parent, {
      id: "n" + counter++,
      text: kind === "category" ? "New category" : "new-channel",
      type: kind,
      data: { type: kind === "category" ? "category" : "text" },
      state: { opened: true },
    }, "last");
    t.deselect_all();
    t.select_node(id);
  }

  function init(loaded) {
    doc = loaded;
    document.getElementById("template-name").value = doc.name || "";
    roles = (doc.roles || []).map((role) => Object.assign({}, role));
    renderRoles();
    $tree.jstree({
      core: {
        data: toTree(doc.channels),
        // Names come from other servers, imports and members who rename channels: jsTree
        // must show them as text, never parse them as HTML.
        force_text: true,
        // jsTree parses data in a Worker built from a blob: URL, which the site's CSP
        // (script-src 'self', no worker-src) forbids; a template is small enough to parse
        // on the page itself, so no CSP exception is needed.
        worker: false,
        check_callback: true,
        multiple: false,
        themes: { dots: false },
      },
      types: {
        "#": { valid_children: ["category", "channel"] },
        category: { valid_children: ["channel"], icon: "jstree-folder" },
        channel: { valid_children: [], icon: "jstree-file" },
      },
      dnd: { copy: false, inside_pos: "last" },
      plugins: ["dnd", "types", "wholerow"],
    });
    $tree.on("select_node.jstree", (_, info) => renderPanel(info.node));
    $tree.on("move_node.jstree", (_, info) => {
      const node = tree().get_node(info.node.id);
      if (info.parent === "#") delete node.data.sync;
      status("Moved #" + node.text + (info.parent === "#" ? " to the top level" : " into " + tree().get_node(info.parent).text) + " (not saved yet)");
    });
    $tree.on("delete_node.jstree", () => renderPanel(null));
  }

  document.getElementById("add-role").addEventListener("click", () => {
    roles.push({ name: "New role", color: 0, hoist: false, mentionable: false, permissions: [] });
    renderRoles();
  });
  document.getElementById("add-category").addEventListener("click", () => addNode("category"));
  document.getElementById("add-channel").addEventListener("click", () => addNode("channel"));
  document.getElementById("delete-node").addEventListener("click", () => {
    const selected = tree().get_selected();
    if (selected.length) tree().delete_node(selected);
  });
  document.getElementById("save-template").addEventListener("click", async () => {
    const body = { document: currentDocument(), shared: document.getElementById("template-shared").checked };
    const saved = await call("save", body);
    if (saved) status("Saved " + saved.saved + ".");
  });
  function options() {
    return {
      document: currentDocument(),
      prune: document.getElementById("apply-prune").checked,
      roles: document.getElementById("apply-roles").checked,
    };
  }
  document.getElementById("show-diff").addEventListener("click", async () => {
    const plan = await call("plan", options());
    if (!plan) return;
    document.getElementById("template-diff").textContent = plan.tree.join("\n");
    status("Against the live server: " + plan.summary);
    showErrors(plan.refused);
  });
  document.getElementById("apply-template").addEventListener("click", async () => {
    if (!window.confirm("Apply this template to the live server?")) return;
    const started = await call("apply", options());
    if (!started) return;
    if (!started.job) {
      status("The server already matches; nothing to apply.");
      return;
    }
    const bar = document.getElementById("template-progress-bar");
    bar.classList.remove("d-none");
    const poll = async () => {
      const update = await call("progress");
      if (!update || update.job !== started.job) {
        setTimeout(poll, 400);
        return;
      }
      document.getElementById("template-progress").textContent = update.text;
      bar.firstElementChild.style.width = Math.round((100 * update.done) / Math.max(update.total, 1)) + "%";
      if (update.status === "running") setTimeout(poll, 500);
      else status("Apply " + update.status + ".");
    };
    poll();
  });

  const name = root.dataset.name;
  call("document" + (name ? "?name=" + encodeURIComponent(name) : "")).then((loaded) => {
    if (loaded) init(loaded);
  });
})();
