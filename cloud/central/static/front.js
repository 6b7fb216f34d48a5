// EV Central dashboard, the network's front: the drivers (GET /api/drivers, a page at a
// time: each one's supply under way and where, its last ticket) and the errors from every
// part of the network (GET /api/errors: what is wrong now, and the latest recorded).
// Both follow the page's server-sent events: dashboard.js calls changed() on the events
// that may change them, and each panel fetches again at most once a second.
"use strict";

window.Front = (() => {
  const DRIVERS_PAGE = 10;
  const ERROR_ROWS = 20;
  const QUIET_MS = 1000; // at most one fetch a second per panel
  const PARTS = {
    cp: "CP", driver: "driver", bridge: "bridge", weather: "weather", keys: "keys",
    central: "Central", api: "API",
  };
  const $ = (id) => document.getElementById(id);
  const dash = (value) => (value === null || value === undefined || value === "" ? "—" : String(value));

  // One fetch at a time per panel; a change while one is out means one more after it.
  function throttled(load) {
    let running = false;
    let again = false;
    let last = 0;
    async function run() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      again = false;
      const wait = Math.max(0, last + QUIET_MS - Date.now());
      if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
      last = Date.now();
      try {
        await load();
      } catch (error) {
        // Central unreachable: the connection banner says so; the next event retries
      } finally {
        running = false;
        if (again) run();
      }
    }
    return run;
  }

  function create(el, clock) {
    // -- drivers ------------------------------------------------------------------
    let driverPage = 0;
    let driverTotal = 0;

    function underWay(session) {
      if (!session) return "—";
      const where = session.location ? `${session.cp_id} (${session.location})` : session.cp_id;
      return `${session.status === "supplying" ? "supplying at" : "authorized at"} ${where}`;
    }

    function ticket(t) {
      if (!t) return "—";
      return `${t.cp_id} · ${dash(t.kwh)} kWh · ${dash(t.eur)} € · ${clock(t.ended_at)} UTC`;
    }

    function renderDrivers(rows) {
      const body = rows.map((d) =>
        el(
          "tr",
          { class: "driver-row", "data-driver": d.id, "data-status": d.session ? d.session.status : "idle" },
          el("td", { class: "driver-id" }, d.id),
          el("td", { class: "driver-session" }, underWay(d.session)),
          el("td", { class: "driver-ticket" }, ticket(d.last_ticket)),
        ),
      );
      if (!body.length) body.push(el("tr", { class: "empty" }, el("td", { colspan: "3" }, "No drivers registered yet")));
      $("drivers").replaceChildren(...body);
      const first = driverPage * DRIVERS_PAGE;
      $("drivers-pager").hidden = driverTotal <= DRIVERS_PAGE;
      $("drivers-page").textContent = rows.length ? `${first + 1}–${first + rows.length} of ${driverTotal}` : "";
      $("drivers-prev").disabled = driverPage === 0;
      $("drivers-next").disabled = first + rows.length >= driverTotal;
    }

    const loadDrivers = throttled(async () => {
      const response = await fetch(`/api/drivers?limit=${DRIVERS_PAGE}&offset=${driverPage * DRIVERS_PAGE}`);
      if (!response.ok) return;
      driverTotal = Number(response.headers.get("X-Total-Count")) || 0;
      const rows = await response.json();
      if (!rows.length && driverPage > 0) {
        driverPage = Math.max(0, Math.ceil(driverTotal / DRIVERS_PAGE) - 1); // the last page shrank
        return loadDrivers();
      }
      renderDrivers(rows);
    });

    $("drivers-prev").addEventListener("click", () => {
      driverPage = Math.max(0, driverPage - 1);
      loadDrivers();
    });
    $("drivers-next").addEventListener("click", () => {
      driverPage += 1;
      loadDrivers();
    });

    // -- errors -------------------------------------------------------------------
    const part = (name) => el("span", { class: `error-part part-${name}` }, PARTS[name] || name);

    function renderErrors(body, total) {
      const now = (body.ongoing || []).map((p) =>
        el("li", { class: "error-now", "data-part": p.part }, part(p.part), el("span", { class: "error-text" }, p.text)),
      );
      $("errors-now").replaceChildren(...now);
      const rows = (body.errors || []).map((e) =>
        el(
          "li",
          { class: "error-row", "data-part": e.part, "data-action": e.action },
          el("time", {}, clock(e.ts)),
          part(e.part),
          e.cp_id ? el("span", { class: "message-cp" }, e.cp_id) : null,
          el("span", { class: "error-text" }, e.text),
        ),
      );
      if (!rows.length) rows.push(el("li", { class: "empty" }, "No errors"));
      $("errors").replaceChildren(...rows);
      $("errors-title").dataset.total = String(total);
    }

    const loadErrors = throttled(async () => {
      const response = await fetch(`/api/errors?limit=${ERROR_ROWS}`);
      if (!response.ok) return;
      renderErrors(await response.json(), Number(response.headers.get("X-Total-Count")) || 0);
    });
    // Without an event: a weather office gone quiet, a driver registered by another
    // process (ev-central driver add writes to the database only).
    setInterval(() => {
      loadErrors();
      loadDrivers();
    }, 30000);

    // What each server-sent event may change.
    const AFFECTS = {
      snapshot: [loadDrivers, loadErrors],
      cp: [loadDrivers, loadErrors],
      requests: [loadDrivers],
      audit: [loadDrivers, loadErrors],
      weather: [loadErrors],
      kafka: [loadErrors],
    };
    function changed(event) {
      for (const load of AFFECTS[event] || []) load();
    }

    return { changed };
  }

  return { create };
})();
