// EV Central dashboard: the tiles, a page at a time.  10,000 CPs are never 10,000 tiles:
// the page shows PAGE tiles by id (the body's data-page), filtered by text (id or
// location) and state; it fetches a page from /api/cps and the counts from /api/summary.
// A CP's event replaces its tile when it is shown; one that may belong on the page (it
// matches the filter, or the fleet grew or shrank) has the page fetched again, at most
// twice a second.  Used by dashboard.js, which draws a tile (renderTile).
"use strict";

window.CpPages = (() => {
  const SUMMARY_STATES = [
    ["SUPPLYING", "supplying"],
    ["AUTHORIZED", "waiting"],
    ["BROKEN", "broken down"],
    ["STOPPED", "out of order"],
    ["DISCONNECTED", "disconnected"],
  ];
  const $ = (id) => document.getElementById(id);

  function create({ tiles, renderTile, el, notify }) {
    const PAGE = Number(document.body.dataset.page) || 48;
    const view = { page: 0, q: "", state: "", total: 0, fleet: null };
    const filtered = () => Boolean(view.q || view.state);
    function matches(cp) {
      if (view.state && cp.state !== view.state) return false;
      const q = view.q.toLowerCase();
      return !q || cp.id.toLowerCase().includes(q) || String(cp.location || "").toLowerCase().includes(q);
    }

    function upsertTile(cp) {
      const old = document.getElementById(`cp-${cp.id}`);
      if (old) {
        old.replaceWith(renderTile(cp));
        if (!matches(cp)) reloadSoon(); // it left the filter
      } else if (filtered() && matches(cp)) {
        reloadSoon();
      }
      summarySoon();
    }

    function renderTiles(cps) {
      if (cps.length) tiles.replaceChildren(...cps.map(renderTile));
      else if (filtered()) tiles.replaceChildren(el("p", { class: "empty" }, "No charging point matches."));
      else tiles.replaceChildren(el("p", { class: "empty" }, "No charging points registered yet."));
      const first = view.page * PAGE;
      $("cp-page").textContent = cps.length ? `${first + 1}–${first + cps.length} of ${view.total}` : "";
      $("cp-prev").disabled = view.page === 0;
      $("cp-next").disabled = first + cps.length >= view.total;
    }

    const throttle = (ms, run) => {
      let timer = null;
      return () => {
        if (!timer) timer = setTimeout(() => { timer = null; run(); }, ms);
      };
    };

    let pageRequest = 0;
    async function loadPage() {
      const asked = ++pageRequest; // an older answer arriving late is dropped
      const query = new URLSearchParams({ limit: PAGE, offset: view.page * PAGE });
      if (view.q) query.set("q", view.q);
      if (view.state) query.set("state", view.state);
      let response;
      try {
        response = await fetch(`/api/cps?${query}`);
      } catch (error) {
        return;
      }
      if (asked !== pageRequest) return;
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        return notify(`Charging points: ${body.message || response.status}`);
      }
      view.total = Number(response.headers.get("X-Total-Count")) || 0;
      const cps = await response.json();
      if (!cps.length && view.page > 0) {
        view.page = Math.max(0, Math.ceil(view.total / PAGE) - 1);
        return loadPage();
      }
      renderTiles(cps);
    }
    const reloadSoon = throttle(500, loadPage);

    function setSummary(summary) {
      if (!summary) return;
      if (view.fleet !== null && summary.cps !== view.fleet) reloadSoon(); // registered or gone
      view.fleet = summary.cps;
      const parts = [`${summary.cps} charging point${summary.cps === 1 ? "" : "s"}`];
      for (const [state, word] of SUMMARY_STATES) {
        const count = (summary.states || {})[state];
        if (count) parts.push(`${count} ${word}`);
      }
      $("summary").textContent = parts.join(" · ");
    }
    const summarySoon = throttle(1000, async () => {
      try {
        const response = await fetch("/api/summary");
        if (response.ok) setSummary(await response.json());
      } catch (error) {
        // the connection banner says Central cannot be reached
      }
    });

    let typing = null;
    $("cp-filter").addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        view.q = $("cp-filter").value.trim();
        view.page = 0;
        loadPage();
      }, 250);
    });
    $("cp-state").addEventListener("change", () => {
      view.state = $("cp-state").value;
      view.page = 0;
      loadPage();
    });
    $("cp-filters").addEventListener("submit", (event) => event.preventDefault());
    $("cp-prev").addEventListener("click", () => {
      view.page = Math.max(0, view.page - 1);
      loadPage();
    });
    $("cp-next").addEventListener("click", () => {
      view.page += 1;
      loadPage();
    });

    // The stream's snapshot: the first page and the counts (another page or a filter
    // is fetched again: the stream may have been down for a while).
    function snapshot(cps, summary) {
      view.fleet = null;
      setSummary(summary);
      if (view.page === 0 && !filtered()) {
        view.total = summary ? summary.cps : cps.length;
        renderTiles(cps);
      } else {
        loadPage();
      }
    }

    // A CP deregistered: its tile goes, and the page fills up again.
    function removeTile(cp) {
      const old = document.getElementById(`cp-${cp.id}`);
      if (old) {
        old.remove();
        reloadSoon();
      }
      summarySoon();
    }

    return { snapshot, upsertTile, removeTile };
  }

  return { create };
})();
