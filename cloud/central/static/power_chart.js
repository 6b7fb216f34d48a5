// EV Central dashboard: the fleet's total kW over the last hour, drawn in plain SVG.
// Fed by the SSE snapshot ({span, step, now, points: [{t, kw}]}) and then one `power`
// event per sample. No external resources.
"use strict";

window.PowerChart = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 720;
  const H = 200;
  const PAD = { left: 52, right: 14, top: 22, bottom: 40 };
  const TICK_MS = 10 * 60 * 1000; // a time label every 10 minutes

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The smallest "round" step (1, 2, 2.5, 5 x 10^n) of which 5 cover `max` (at least 1 kW).
  function niceStep(max) {
    const rough = Math.max(max, 1) / 5;
    const power = 10 ** Math.floor(Math.log10(rough));
    for (const factor of [1, 2, 2.5, 5, 10]) if (factor * power >= rough) return factor * power;
    return 10 * power;
  }

  const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16);
  const kwText = (kw) => `${Number(kw.toFixed(2))} kW`;

  function create(chart, readout) {
    let spanMs = 3600 * 1000;
    let stepMs = 5000;
    let serverNow = 0;
    let points = []; // [{t: ms, kw: number}], oldest first

    function parse(point) {
      return { t: Date.parse(point.t), kw: Number.parseFloat(point.kw) };
    }

    function reset(history) {
      if (!history) return;
      spanMs = history.span * 1000;
      stepMs = history.step * 1000;
      serverNow = Date.parse(history.now) || 0;
      points = (history.points || []).map(parse).filter((p) => Number.isFinite(p.t + p.kw));
      draw();
    }

    function add(point) {
      const p = parse(point);
      if (!Number.isFinite(p.t + p.kw)) return;
      if (points.length && p.t < points[points.length - 1].t) points = []; // clock went back
      points.push(p);
      draw();
    }

    function draw() {
      const end = Math.max(serverNow, points.length ? points[points.length - 1].t : 0);
      const start = end - spanMs;
      points = points.filter((p) => p.t > start);
      const max = Math.max(1, ...points.map((p) => p.kw));
      const step = niceStep(max);
      const top = Math.ceil(max / step - 1e-9) * step;
      const x = (t) => PAD.left + ((t - start) / spanMs) * (W - PAD.left - PAD.right);
      const y = (kw) => H - PAD.bottom - (kw / top) * (H - PAD.top - PAD.bottom);
      const nodes = [];

      for (let kw = 0; kw <= top + 1e-9; kw += step) {
        nodes.push(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(kw), y2: y(kw) }));
        nodes.push(svg("text", { class: "tick tick-kw", x: PAD.left - 6, y: y(kw) + 4, "text-anchor": "end" }, `${Number(kw.toFixed(2))}`));
      }
      for (let t = Math.ceil(start / TICK_MS) * TICK_MS; t <= end; t += TICK_MS) {
        nodes.push(svg("line", { class: "grid grid-time", x1: x(t), x2: x(t), y1: PAD.top, y2: H - PAD.bottom }));
        nodes.push(svg("text", { class: "tick tick-time", x: x(t), y: H - PAD.bottom + 15, "text-anchor": "middle" }, hhmm(t)));
      }
      nodes.push(svg("line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0) }));
      nodes.push(svg("line", { class: "axis", x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: y(0) }));
      nodes.push(svg("text", { class: "axis-title", x: PAD.left - 6, y: PAD.top - 8, "text-anchor": "end" }, "kW"));
      nodes.push(svg("text", { class: "axis-title", x: (PAD.left + W - PAD.right) / 2, y: H - 6, "text-anchor": "middle" }, "time (UTC), last 60 minutes"));

      // One path per run of samples; a gap (Central was down) breaks the line.
      let line = "";
      let area = "";
      let run = [];
      const dots = [];
      const flush = () => {
        if (run.length === 1) dots.push(svg("circle", { class: "power-dot", cx: x(run[0].t), cy: y(run[0].kw), r: 2.5 }));
        if (!run.length) return;
        line += run.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.kw).toFixed(1)}`).join("");
        area += `M${x(run[0].t).toFixed(1)},${y(0)}` + run.map((p) => `L${x(p.t).toFixed(1)},${y(p.kw).toFixed(1)}`).join("") + `L${x(run[run.length - 1].t).toFixed(1)},${y(0)}Z`;
        run = [];
      };
      for (const p of points) {
        if (run.length && p.t - run[run.length - 1].t > 3 * stepMs) flush();
        run.push(p);
      }
      flush();
      nodes.push(svg("path", { class: "power-area", d: area }));
      nodes.push(svg("path", { class: "power-line", d: line }), ...dots);
      chart.replaceChildren(...nodes);
      chart.dataset.points = String(points.length);
      const last = points[points.length - 1];
      chart.dataset.kw = last ? String(last.kw) : "";
      readout.textContent = last ? `${kwText(last.kw)} now` : "no samples yet";
    }

    return { reset, add, draw };
  }

  return { create };
})();
