// EV Central dashboard: live tiles over server-sent events, admin actions over REST.
// Plain browser JavaScript, no build step, no external resources.
"use strict";

(() => {
  const LABELS = JSON.parse(document.getElementById("state-labels").textContent);
  const REASONS = JSON.parse(document.getElementById("stop-reasons").textContent);
  const TOKEN_KEY = "evcharging.adminToken";
  const MAX_MESSAGES = 50;
  const RETRY_MS = 3000;

  const $ = (id) => document.getElementById(id);
  const tiles = $("tiles");
  const power = window.PowerChart.create($("power-chart"), $("power-now"));

  // -- small DOM helpers ----------------------------------------------------
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      node.setAttribute(name, value === true ? "" : value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }
  const dash = (value) => (value === null || value === undefined || value === "" ? "—" : String(value));
  // A supply started at the CP without a driver id: the server's one name for it.
  const driver = (id) => (id ? String(id) : document.body.dataset.adHoc);

  function clock(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    return Number.isNaN(moment.getTime()) ? String(iso) : moment.toISOString().slice(11, 19);
  }

  const weather = window.Weather.create(el, clock);

  // -- charging point tiles -------------------------------------------------
  function renderTile(cp) {
    const fact = (label, cls, text) => el("div", {}, el("dt", {}, label), el("dd", { class: cls }, text));
    let supply = null;
    if (cp.state === "SUPPLYING" || cp.state === "AUTHORIZED") {
      supply = el("dl", { class: "tile-supply" }, fact("Driver", "tile-driver", driver(cp.driver_id)));
      if (cp.state === "SUPPLYING") {
        supply.append(
          fact("Started", "tile-started", `${clock(cp.started_at)} UTC`),
          fact("Power", "tile-kw", `${dash(cp.kw)} kW`),
          fact("Energy", "tile-kwh", `${dash(cp.kwh)} kWh`),
          fact("Amount", "tile-eur", `${dash(cp.eur)} €`),
        );
      }
    }
    // Only the action that applies: Stop unless an administrator stopped it, then Resume
    // (a stopped CP that is also disconnected or broken down says so, and offers Resume
    // too).  Other stop reasons (a weather alert, a revoked key) are lifted by their cause.
    const reasons = cp.stop_reasons || [];
    const why = reasons.map((reason) => REASONS[reason] || reason).join(", ");
    const byAdmin = reasons.includes("admin");
    let note = null;
    if (cp.state !== "STOPPED" && byAdmin) note = el("p", { class: "tile-note" }, "Stopped: stays out of order until resumed");
    else if (cp.state !== "STOPPED" && reasons.length) note = el("p", { class: "tile-note" }, `Out of order once back: ${why}`);
    const label = LABELS[cp.state] || dash(cp.state);
    const button = (action, cls, text) =>
      el(
        "button",
        { type: "button", class: `btn ${cls}`, "data-action": action, "data-cp": cp.id, "aria-label": `${text} ${cp.id}` },
        text,
      );
    const action = byAdmin ? button("resume", "btn-resume", "Resume") : button("stop", "btn-stop", "Stop");
    return el(
      "article",
      { class: "tile", id: `cp-${cp.id}`, "data-state": cp.state },
      el(
        "header",
        { class: "tile-head" },
        el("h3", { class: "tile-id" }, cp.id),
        el("span", { class: "tile-price" }, `${dash(cp.price_eur_kwh)} €/kWh`),
      ),
      el("p", { class: "tile-location" }, dash(cp.location)),
      weather.tileWeather(cp),
      el("p", { class: "tile-state" }, cp.state === "STOPPED" && why ? `${label}: ${why}` : label),
      supply,
      note,
      ...window.Security.tileFacts(cp, el, clock),
      el("footer", { class: "tile-actions" }, action, window.Security.revokeButton(cp, el)),
    );
  }

  const pages = window.CpPages.create({ tiles, renderTile, el, notify: (text) => notify(text) });

  // -- panels ---------------------------------------------------------------
  function renderRequests(list) {
    const rows = list.map((r) =>
      el("tr", {}, el("td", {}, r.cp_id), el("td", {}, driver(r.driver_id)), el("td", {}, dash(r.source)), el("td", {}, clock(r.since))),
    );
    if (!rows.length) rows.push(el("tr", { class: "empty" }, el("td", { colspan: "4" }, "No requests under way")));
    $("requests").replaceChildren(...rows);
  }

  function renderMessage(m) {
    return el(
      "li",
      { class: `message level-${String(m.level || "info").toLowerCase()}` },
      el("time", {}, clock(m.ts)),
      m.cp_id ? el("span", { class: "message-cp" }, m.cp_id) : null,
      el("span", { class: "message-text" }, dash(m.text)),
    );
  }

  function renderMessages(list) {
    const newestFirst = [...list].reverse(); // the Fleet lists them oldest first
    const items = newestFirst.slice(0, MAX_MESSAGES).map(renderMessage);
    if (!items.length) items.push(el("li", { class: "empty" }, "No messages yet"));
    $("messages").replaceChildren(...items);
  }

  function addMessage(m) {
    const list = $("messages");
    list.querySelector(":scope > .empty")?.remove();
    list.prepend(renderMessage(m));
    while (list.children.length > MAX_MESSAGES) list.lastElementChild.remove();
  }

  // -- notices and banners --------------------------------------------------
  let noticeTimer = null;
  function notify(text, kind = "error") {
    const box = $("notice");
    $("notice-text").textContent = text;
    box.dataset.kind = kind;
    box.hidden = false;
    clearTimeout(noticeTimer);
    if (kind !== "error") noticeTimer = setTimeout(() => (box.hidden = true), 4000);
  }
  $("notice-close").addEventListener("click", () => ($("notice").hidden = true));

  // Kafka down: live telemetry and driver requests pause; the control plane goes on.
  function setKafka(kafka) {
    const banner = $("degraded");
    banner.hidden = !kafka || kafka.up;
    banner.textContent = kafka && !kafka.up ? kafka.text : "";
  }

  function setConnected(connected) {
    $("conn-banner").hidden = connected;
    document.body.dataset.live = connected ? "yes" : "no";
  }

  // -- admin token and actions ---------------------------------------------
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  function showTokenState() {
    const set = Boolean(token());
    $("token-state").textContent = set ? "token set for this tab" : "not set";
    $("token-state").dataset.set = set ? "yes" : "no";
    $("token-forget").hidden = !set;
  }
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return notify("Paste the admin token first.");
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token-input").value = "";
    showTokenState();
    audit();
    notify("Admin token kept for this browser tab.", "info");
  });
  $("token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenState();
    audit();
  });

  async function admin(path, what, method = "POST") {
    if (!token()) {
      $("token-input").focus();
      return notify("Enter the admin token (top right) before stopping, resuming or revoking.");
    }
    let response;
    try {
      response = await fetch(path, { method, headers: { Authorization: `Bearer ${token()}` } });
    } catch (error) {
      return notify(`${what} failed: Central cannot be reached.`);
    }
    if (response.ok) return notify(`${what}: done.`, "info");
    if (response.status === 401) return notify("Admin token rejected — check it and enter it again.");
    const body = await response.json().catch(() => ({}));
    notify(`${what} failed: ${body.message || response.statusText || response.status}`);
  }

  document.addEventListener("click", (event) => {
    const revoke = event.target.closest("button[data-revoke-key]");
    if (revoke) {
      const cp = revoke.dataset.revokeKey;
      if (!window.confirm(`Revoke the key of ${cp}? It goes out of service until its monitor re-authenticates.`)) return;
      return admin(`/api/cps/${encodeURIComponent(cp)}/key`, `Revoke key of ${cp}`, "DELETE");
    }
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const cp = button.dataset.cp;
    const id = encodeURIComponent(cp || "");
    switch (button.dataset.action) {
      case "stop":
        return admin(`/api/cps/${id}/stop`, `Stop ${cp}`);
      case "resume":
        return admin(`/api/cps/${id}/resume`, `Resume ${cp}`);
      case "stop-all":
        if (!window.confirm("Stop every charging point? Supplies under way will end.")) return;
        return admin("/api/cps/stop", "Stop all");
      case "resume-all":
        return admin("/api/cps/resume", "Resume all");

    }
  });

  // -- live updates ---------------------------------------------------------
  const audit = () => window.Security.loadAudit(el, clock);
  const front = window.Front.create(el, clock);
  const handlers = {
    snapshot(data) {
      pages.snapshot(data.cps || [], data.summary);
      renderRequests(data.requests || []);
      renderMessages(data.messages || []);
      setKafka(data.kafka);
      power.reset(data.power);
      weather.setAlerts(data.alerts || []);
      weather.setReport(data.weather);
      audit();
    },
    alerts: weather.setAlerts,
    weather: weather.setReport,
    cp: pages.upsertTile,
    cp_removed: pages.removeTile,
    audit,
    power: power.add,
    kafka: setKafka,
    message: addMessage,
    async requests(data) {
      if (Array.isArray(data)) return renderRequests(data);
      const response = await fetch("/api/requests");
      if (response.ok) renderRequests(await response.json());
    },
  };

  function connect() {
    const source = new EventSource("/events");
    source.onopen = () => setConnected(true);
    source.onerror = () => {
      setConnected(false);
      // The browser retries by itself unless the stream was refused outright.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RETRY_MS);
    };
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => {
        try {
          handle(JSON.parse(event.data));
        } catch (error) {
          console.error(`bad ${name} event`, error);
        }
        front.changed(name);
      });
    }
  }

  showTokenState();
  connect();
})();
