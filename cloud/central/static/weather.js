// EV Central dashboard, the weather office's part: the alerts raised, the office's status
// ("weather: provider unreachable since 10:42", or how long since it last reported) and,
// on each tile, its location's temperature and alert.  Used by dashboard.js.
"use strict";

window.Weather = (() => {
  const STALE_S = 30; // no report for this long: say so
  let alerts = []; // [{location, temperature_c, threshold_c, observed_at, raised_at, raised_by}]
  let report = null; // {status, since, received_at, locations: [...]}

  // How a location matches a CP's, as Central does (cloud/central/alerts.py): the same
  // city (case folded), and no two different country codes ("Paris,FR" is not "Paris,US";
  // a location without a code matches either).
  const place = (location) => String(location || "").split(",")[0].trim().toLowerCase();
  function country(location) {
    const parts = String(location || "").split(",");
    const code = parts.length > 1 ? parts[parts.length - 1].trim() : "";
    return /^[A-Za-z]{2}$/.test(code) ? code.toUpperCase() : null;
  }
  function matches(where, cpLocation) {
    if (place(where) !== place(cpLocation)) return false;
    const wanted = country(where);
    const there = country(cpLocation);
    return wanted === null || there === null || wanted === there;
  }
  const $ = (id) => document.getElementById(id);

  function reading(location) {
    const alert = alerts.find((a) => matches(a.location, location)) || null;
    const seen = ((report && report.locations) || []).find((x) => matches(x.location, location)) || null;
    const temperature = seen && seen.temperature_c !== null ? seen.temperature_c : alert ? alert.temperature_c : null;
    return { alert, temperature, error: seen ? seen.error : null, watched: Boolean(seen || alert) };
  }

  function fillTile(node, location) {
    const { alert, temperature, error, watched } = reading(location);
    node.hidden = !watched;
    node.dataset.alert = alert ? "yes" : "no";
    const parts = [];
    if (temperature !== null && temperature !== undefined) parts.push(`${temperature} °C`);
    if (alert) parts.push(`weather alert (below ${alert.threshold_c} °C)`);
    else if (error) parts.push(error);
    node.textContent = parts.join(" · ");
  }

  // One tile's weather line (dashboard.js puts it under the location).
  function tileWeather(cp, el) {
    const node = el("p", { class: "tile-weather", "data-location": cp.location || "" });
    fillTile(node, cp.location);
    return node;
  }

  function paintTiles() {
    for (const node of document.querySelectorAll(".tile-weather")) fillTile(node, node.dataset.location);
  }

  function ago(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (Number.isNaN(seconds)) return "";
    return seconds < 90 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
  }

  function paintStatus() {
    const line = $("weather-status");
    if (!line) return;
    let text;
    let kind = "ok";
    if (!report) {
      text = "weather: no report from the weather office yet";
      kind = "none";
    } else {
      const age = (Date.now() - new Date(report.received_at).getTime()) / 1000;
      if (report.status !== "ok") {
        text = `weather: ${report.status}`;
        kind = "problem";
      } else if (age > STALE_S) {
        text = `weather: no report for ${ago(report.received_at).replace(" ago", "")}`;
        kind = "problem";
      } else {
        text = `weather: ok, last report ${ago(report.received_at)}`;
      }
    }
    line.textContent = text;
    line.dataset.kind = kind;
  }

  function paintAlerts(el, clock) {
    const list = $("alerts");
    if (!list) return;
    const items = alerts.map((a) =>
      el(
        "li",
        { class: "alert-item", "data-location": a.location },
        el("strong", {}, a.location),
        ` ${a.temperature_c} °C (below ${a.threshold_c} °C), since ${clock(a.raised_at)} UTC`,
      ),
    );
    if (!items.length) items.push(el("li", { class: "empty" }, "No weather alerts"));
    list.replaceChildren(...items);
  }

  function create(el, clock) {
    setInterval(paintStatus, 1000);
    return {
      tileWeather: (cp) => tileWeather(cp, el),
      setAlerts(list) {
        alerts = Array.isArray(list) ? list : [];
        paintAlerts(el, clock);
        paintTiles();
      },
      setReport(data) {
        report = data || null;
        paintStatus();
        paintTiles();
      },
    };
  }

  return { create, place };
})();
