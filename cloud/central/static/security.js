// EV Central dashboard, its security half: each tile's registration and key state (the
// key id and its age, never a key), the CP's key problems and its Revoke key button;
// the latest records of the audit trail (GET /api/audit, admin token).
// Plain browser JavaScript, no build step; dashboard.js calls it.
"use strict";

window.Security = (() => {
  const TOKEN_KEY = "evcharging.adminToken";
  const AUDIT_ROWS = 20;
  const $ = (id) => document.getElementById(id);

  // "12 s", "4 min", "3 h", "2 d": how long ago ``iso`` was.
  function age(iso, now = Date.now()) {
    const then = new Date(iso).getTime();
    if (!iso || Number.isNaN(then)) return "";
    const s = Math.max(0, Math.round((now - then) / 1000));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h`;
    return `${Math.floor(s / 86400)} d`;
  }
  const day = (iso) => (iso ? String(iso).slice(0, 10) : "—");

  // The tile's registration and key facts, and its key problem if any.
  function tileFacts(cp, el, clock) {
    const fact = (label, cls, text) => el("div", {}, el("dt", {}, label), el("dd", { class: cls }, text));
    const revoked = (cp.stop_reasons || []).includes("key revoked");
    let key = "none";
    if (cp.key_id) key = `${cp.key_id} · ${age(cp.key_issued_at)} old`;
    else if (revoked) key = "revoked";
    const facts = el(
      "dl",
      { class: "tile-keys" },
      fact("Registered", "tile-registered", day(cp.registered_at)),
      fact("Last login", "tile-auth", cp.last_auth_at ? `${clock(cp.last_auth_at)} UTC` : "—"),
      fact("Key", "tile-key", key),
    );
    const problem = cp.key_problem
      ? el("p", { class: "tile-key-problem" },
          `Key problem (${cp.key_problems}): ${cp.key_problem.reason} at ${clock(cp.key_problem.at)} UTC`)
      : null;
    return [facts, problem];
  }

  function revokeButton(cp, el) {
    return el(
      "button",
      { type: "button", class: "btn btn-revoke", "data-revoke-key": cp.id,
        "aria-label": `Revoke key of ${cp.id}`, disabled: !cp.key_id },
      "Revoke key",
    );
  }

  // -- the audit trail panel ----------------------------------------------------
  let loading = null;
  let again = false;
  function renderAudit(rows, el, clock) {
    const items = rows.map((row) =>
      el(
        "li",
        { class: `audit-row outcome-${row.outcome}` },
        el("time", {}, clock(row.ts)),
        el("span", { class: "audit-action" }, row.action),
        row.cp_id ? el("span", { class: "message-cp" }, row.cp_id) : null,
        el("span", { class: "audit-who" }, `${row.actor} ${row.source}`),
        el("span", { class: "audit-params" }, JSON.stringify(row.params)),
      ),
    );
    if (!items.length) items.push(el("li", { class: "empty" }, "No audit records yet"));
    $("audit").replaceChildren(...items);
  }

  async function loadAudit(el, clock) {
    const token = sessionStorage.getItem(TOKEN_KEY) || "";
    if (!token) {
      $("audit").replaceChildren(el("li", { class: "empty" }, "Enter the admin token to see the audit trail"));
      return;
    }
    if (loading) {
      again = true; // records appended while a fetch is out: fetch once more after it
      return;
    }
    again = false;
    loading = fetch(`/api/audit?limit=${AUDIT_ROWS}`, { headers: { Authorization: `Bearer ${token}` } })
      .then(async (response) => {
        if (response.ok) renderAudit(await response.json(), el, clock);
        else $("audit").replaceChildren(el("li", { class: "empty" }, response.status === 401
          ? "Admin token rejected: the audit trail is for administrators" : `Audit trail: ${response.status}`));
      })
      .catch(() => {})
      .finally(() => {
        loading = null;
        if (again) setTimeout(() => loadAudit(el, clock), 200);
      });
  }

  return { age, tileFacts, revokeButton, loadAudit };
})();
