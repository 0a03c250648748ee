// The Sandbox page: act as a member of the emulated guild and watch the bot answer.
// Served by sandbox/page.py; no inline scripts (the web editor's CSP forbids them).
(function () {
  "use strict";

  const root = document.getElementById("sandbox");
  if (!root) {
    return;
  }
  const POLL_MS = 1000;
  const ids = {
    guild: root.dataset.guild,
    channel: root.dataset.channel,
    as: root.dataset.as,
  };
  const messages = document.getElementById("dc-messages");
  const channelList = document.getElementById("dc-channels");
  const modalBox = document.getElementById("dc-modal");
  const statusLine = document.getElementById("dc-status");
  let version = root.dataset.version;
  let dismissedModal = sessionStorage.getItem("sandbox-dismissed-modal") || "";
  let busy = 0;

  function showStatus(text, isError) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("dc-error", Boolean(isError));
  }

  function nearBottom() {
    return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  }

  function showModal(html, modalId) {
    if (!modalId || modalId === dismissedModal) {
      modalBox.innerHTML = "";
      return;
    }
    if (modalBox.dataset.modalId !== modalId) {
      modalBox.innerHTML = html; // rendered and escaped by the server's templates
      modalBox.dataset.modalId = modalId;
      const first = modalBox.querySelector("input, textarea");
      if (first) {
        first.focus();
      }
    }
  }

  async function refresh() {
    const query = new URLSearchParams(ids);
    const response = await window.fetch("/sandbox/api/view?" + query.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      const failure = await response.json().catch(function () {
        return {};
      });
      throw new Error(
        failure.error || "The page could not load the channel (HTTP " + response.status + ")."
      );
    }
    const view = await response.json();
    if (view.version === version) {
      return;
    }
    version = view.version;
    if (channelList && view.channels !== channelList.dataset.shown) {
      channelList.innerHTML = view.channels; // rendered and escaped by the server's templates
      channelList.dataset.shown = view.channels;
    }
    const stick = nearBottom();
    messages.innerHTML = view.messages; // rendered and escaped by the server's templates
    if (stick) {
      messages.scrollTop = messages.scrollHeight;
    }
    showModal(view.modal, view.modal_id);
  }

  async function act(path, body, pending) {
    busy += 1;
    showStatus(pending, false);
    try {
      const response = await window.foundrycord.fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(Object.assign({ guild: ids.guild, as: ids.as }, body)),
      });
      const result = await response.json().catch(function () {
        return { error: "The server answered HTTP " + response.status + "." };
      });
      if (!response.ok || result.error) {
        showStatus(result.error || "The action failed (HTTP " + response.status + ").", true);
      } else if (result.answered === false) {
        showStatus(result.notice, true);
      } else {
        showStatus("", false);
      }
      return result;
    } catch (error) {
      showStatus("The sandbox did not answer: " + error.message, true);
      return null;
    } finally {
      busy -= 1;
      await refresh().catch(function () {});
    }
  }

  // Sending messages.
  document.getElementById("dc-composer").addEventListener("submit", async function (event) {
    event.preventDefault();
    const input = event.target.elements.content;
    const content = input.value.trim();
    if (!content) {
      return;
    }
    input.value = "";
    await act("/sandbox/api/message", { channel: ids.channel, content: content }, "Sending…");
  });

  // Slash commands: show the chosen command's option fields, then run it.
  const commandForm = document.getElementById("dc-command");
  function currentFieldset() {
    const chosen = commandForm.elements.command.value;
    let found = null;
    commandForm.querySelectorAll("fieldset[data-command]").forEach(function (fieldset) {
      const match = fieldset.dataset.command === chosen;
      fieldset.hidden = !match;
      if (match) {
        found = fieldset;
      }
    });
    return found;
  }
  commandForm.elements.command.addEventListener("change", currentFieldset);
  commandForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    const command = commandForm.elements.command.value;
    if (!command) {
      showStatus("Pick a command to run.", true);
      return;
    }
    const options = {};
    const fieldset = currentFieldset();
    if (fieldset) {
      fieldset.querySelectorAll("[name]").forEach(function (field) {
        if (field.value !== "") {
          options[field.name] = field.value;
        }
      });
    }
    await act(
      "/sandbox/api/command",
      { channel: ids.channel, command: command, options: options },
      "Running /" + command + "…"
    );
  });

  // Buttons and select menus on messages.
  messages.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) {
      return;
    }
    if (button.dataset.action === "press") {
      await act(
        "/sandbox/api/press",
        { message: button.dataset.message, custom_id: button.dataset.customId },
        "Pressing " + (button.textContent.trim() || "the button") + "…"
      );
    } else if (button.dataset.action === "choose-many") {
      const select = button.parentElement.querySelector("select[data-action=choose]");
      await choose(select);
    }
  });
  messages.addEventListener("change", async function (event) {
    const select = event.target;
    if (select instanceof HTMLSelectElement && select.dataset.action === "choose" && !select.multiple) {
      await choose(select);
    }
  });
  async function choose(select) {
    const values = Array.from(select.selectedOptions).map(function (option) {
      return option.value;
    });
    if (values.length === 0) {
      showStatus("Choose at least one option.", true);
      return;
    }
    await act(
      "/sandbox/api/choose",
      { message: select.dataset.message, custom_id: select.dataset.customId, values: values },
      "Choosing…"
    );
  }

  // The modal the bot opened.
  modalBox.addEventListener("submit", async function (event) {
    event.preventDefault();
    const form = event.target;
    const values = {};
    form.querySelectorAll("[name]").forEach(function (field) {
      values[field.name] = field.value;
    });
    const result = await act(
      "/sandbox/api/submit",
      { interaction: form.dataset.interaction, values: values },
      "Submitting…"
    );
    if (result && result.ok) {
      modalBox.innerHTML = "";
    }
  });
  modalBox.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action=dismiss]");
    if (button) {
      dismissedModal = button.closest("form").dataset.interaction;
      sessionStorage.setItem("sandbox-dismissed-modal", dismissedModal);
      modalBox.innerHTML = "";
      modalBox.dataset.modalId = "";
    }
  });

  // Acting as someone else reloads the page for them.
  document.getElementById("dc-as").addEventListener("change", function (event) {
    event.target.form.submit();
  });

  messages.scrollTop = messages.scrollHeight;
  modalBox.dataset.modalId = root.dataset.modalId;
  if (root.dataset.modalId && root.dataset.modalId === dismissedModal) {
    modalBox.innerHTML = "";
  }
  window.setInterval(function () {
    if (busy === 0 && !document.hidden) {
      refresh().catch(function (error) {
        showStatus(error.message, true);
      });
    }
  }, POLL_MS);
})();
