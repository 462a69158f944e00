/* scalelaw schedule explorer: the loss curve an LR-schedule fit predicts for a WSD schedule,
 * recomputed in the page as the sliders move.  No network, no libraries: inlined into the
 * report by scalelaw.report.
 *
 * The numbers are a float64 port of the Python code they must equal (to 1e-6 relative;
 * tests/test_report_browser.py checks it in Chromium):
 *   - the WSD schedule: scalelaw/schedules/_families.py (wsd) and _core.py (Phase.eval,
 *     Schedule.__call__): per-step LRs eta_0..eta_T, steps from 0, linear warmup
 *     linspace(0, peak, W), cooldown length round-half-even(cooldown * steps);
 *   - detect_warmup and the momentum law's areas: scalelaw/schedules/_areas.py,
 *     scalelaw/laws/momentum.py (S1 = sum_{i=1..s} eta_i; m_i = lam*m_{i-1} + (eta_{i-1} - eta_i),
 *     S2 = sum m_i; 'tissue' convention: steps 0..W at eta_max; 'actual': the real LR);
 *   - the multi-power law: scalelaw/laws/multipower.py (features, ld_terms), conventions
 *     'released' and 'paper'.  Python evaluates the LD sum in float32 unless the law has
 *     precision="double"; this file always uses float64 (see docs/report.md).
 * Evaluation steps: every ceil(T / maxPoints) steps and the last step T; the Python side
 * reproduces a curve with result.predict(spec, steps=lastCurve.steps).
 */
(function () {
  "use strict";

  var DBL_MAX = 1.7976931348623157e308;

  // ------------------------------------------------------------------ schedule (WSD)
  function roundHalfEven(x) {           // Python's round(): halves go to the even integer
    var r = Math.round(x);
    if (Math.abs(x - Math.trunc(x)) === 0.5) {
      r = 2 * Math.round(x / 2);
    }
    return r;
  }

  var SHAPES = ["linear", "cosine", "sqrt", "exp"];

  function phaseEval(ph, t) {
    var L = Math.max(ph.length, 1);
    var f = Math.min(Math.max(t / L, 0.0), 1.0);
    var a = ph.start, b = ph.end;
    switch (ph.shape) {
      case "constant": return a;
      case "warmup":
        if (L === 1) { return b; }
        return a + (b - a) * Math.min(Math.max(t / (L - 1), 0.0), 1.0);
      case "linear": return a + (b - a) * f;
      case "cosine": return b + (a - b) * 0.5 * (1.0 + Math.cos(Math.PI * f));
      case "sqrt": return b + (a - b) * (1.0 - Math.sqrt(f));
      case "exp": return a * Math.pow(b / a, f);
    }
    throw new Error("unknown phase shape " + ph.shape);
  }

  /* The WSD schedule of scalelaw.schedules.wsd: {phases, total, warmup} or an error text. */
  function wsd(s) {
    var peak = s.peak, steps = s.steps, W = s.warmup, final = s.final;
    if (!(peak > 0) || !(final >= 0)) { return {error: "peak must be > 0 and final LR >= 0"}; }
    if (!(W >= 0 && W < steps)) { return {error: "warmup must be in [0, steps)"}; }
    if (SHAPES.indexOf(s.shape) < 0) { return {error: "unknown cooldown shape " + s.shape}; }
    var c = s.cooldown;
    var nCool = c < 1 ? roundHalfEven(c * steps) : roundHalfEven(c);
    if (!(nCool >= 0 && nCool <= steps)) { return {error: "the cooldown does not fit in the steps"}; }
    if (nCool > steps - W) { return {error: "the cooldown overlaps the warmup"}; }
    if (s.shape === "exp" && nCool > 0 && !(final > 0)) {
      return {error: "an exponential cooldown needs a final LR > 0"};
    }
    var phases = [];
    if (W > 0) { phases.push({shape: "warmup", length: W, start: 0.0, end: peak}); }
    phases.push({shape: "constant", length: steps - W - nCool, start: peak, end: peak});
    phases.push({shape: s.shape, length: nCool, start: peak, end: final});
    var kept = phases.filter(function (p) { return p.length > 0; });
    if (!kept.length) { kept = phases.slice(-1); }
    var starts = [0];
    kept.forEach(function (p) { starts.push(starts[starts.length - 1] + p.length); });
    return {phases: kept, starts: starts, total: starts[starts.length - 1], nCool: nCool};
  }

  /* Per-step LRs eta_0..eta_T (Schedule.lrs). */
  function lrs(sched, T) {
    var eta = new Float64Array(T + 1);
    var ph = sched.phases, st = sched.starts, n = ph.length, i = 0;
    for (var s = 0; s <= T; s++) {
      while (i < n - 1 && s >= st[i + 1]) { i++; }   // searchsorted(starts[1:], s, 'right')
      eta[s] = phaseEval(ph[i], s - st[i]);
    }
    return eta;
  }

  function detectWarmup(eta) {
    if (eta.length < 2 || eta[1] <= eta[0]) { return 0; }
    for (var i = 0; i + 1 < eta.length; i++) {
      if (eta[i + 1] - eta[i] <= 0) { return i + 1; }
    }
    return eta.length;
  }

  function evalSteps(T, maxPoints) {
    var k = Math.max(1, Math.ceil(T / maxPoints)), out = [];
    for (var s = k; s <= T; s += k) { out.push(s); }
    if (out[out.length - 1] !== T) { out.push(T); }
    return out;
  }

  // ------------------------------------------------------------------ laws
  function momentumCurve(m, eta, steps) {
    var p = m.params, T = eta.length - 1;
    var lam = m.fit_lambda ? p.lam : m.lam;
    var e = Float64Array.from(eta);
    if (m.convention !== "actual") {               // Tissue et al.: steps 0..W at eta_max
      var W = m.warmup !== null && m.warmup !== undefined ? m.warmup : detectWarmup(eta);
      W = Math.min(W, T);
      if (W > 0) {
        var mx = -Infinity;
        for (var i = 0; i <= W; i++) { mx = Math.max(mx, eta[i]); }
        for (i = 0; i <= W; i++) { e[i] = mx; }
      }
    }
    var S1 = new Float64Array(T + 1), S2 = new Float64Array(T + 1);
    var mom = 0.0, acc2 = 0.0, acc1 = 0.0;
    for (var s = 0; s <= T; s++) {
      if (s >= 1) { acc1 += e[s]; }
      var delta = (s >= 2 && T + 1 > 2) ? e[s - 1] - e[s] : 0.0;
      mom = s === 0 ? delta : delta + lam * mom;
      acc2 = s === 0 ? mom : acc2 + mom;
      S1[s] = acc1;
      S2[s] = acc2;
    }
    var hasC = m.law !== "s1power";
    return steps.map(function (t) {
      var v = p.L0 + p.A * Math.pow(S1[t], -p.alpha);
      return hasC ? v - p.C * S2[t] : v;
    });
  }

  function multipowerCurve(m, eta, steps) {
    var p = m.params, T = eta.length - 1;
    var P = new Float64Array(T + 1), acc = 0.0;
    for (var s = 0; s <= T; s++) { acc += eta[s]; P[s] = acc; }
    var k0 = 1, base = P;
    if (m.convention === "paper") {
      var W = m.warmup !== null && m.warmup !== undefined ? m.warmup : detectWarmup(eta);
      k0 = W + 1;
      var SW = 0.0;
      if (W > 0) {
        var mx = -Infinity;
        for (var i = 0; i <= W; i++) { mx = Math.max(mx, eta[i]); }
        SW = 0.5 * mx * W;
      }
      base = new Float64Array(T + 1);
      for (s = W; s <= T; s++) { base[s] = P[s] - P[W] + SW; }
      if (steps.some(function (t) { return t <= W; })) {
        for (s = 0; s <= W; s++) { base[s] = Math.max(P[s], 1e-300); }
      }
    }
    var dk = [], ak = [], Pk = [];
    for (var k = Math.max(k0, 1); k <= T; k++) {
      var d = eta[k - 1] - eta[k];
      if (d !== 0) {
        dk.push(d);
        ak.push(Math.min(Math.pow(Math.max(eta[k], 1e-300), -p.gamma), DBL_MAX / 1e8));
        Pk.push(P[k - 1]);
      }
    }
    var C = p.C, mb = -p.beta, K = dk.length;
    return steps.map(function (t) {
      var Pt = P[t], sumd = 0.0, sumv = 0.0;
      for (var j = 0; j < K && Pk[j] < Pt; j++) {   // P is increasing: later changes vanish
        var x = (Pt - Pk[j]) * ak[j];
        var v = Math.exp(Math.log(x * C + 1.0) * mb);
        sumd += dk[j];
        sumv += v * dk[j];
      }
      var ld = sumd - sumv;
      return p.L0 + p.A * Math.pow(base[t], -p.alpha) - p.B * ld;
    });
  }

  var LAWS = {momentum: momentumCurve, s1power: momentumCurve, multipower: multipowerCurve};

  function specOf(s) {
    return "wsd:peak=" + String(s.peak) + ",final=" + String(s.final) + ",steps=" + String(s.steps) +
      ",warmup=" + String(s.warmup) + ",cooldown=" + String(s.cooldown) + ",shape=" + s.shape;
  }

  /* The predicted curve of model m (the JSON the report embeds) under WSD settings s
   * ({peak, final, steps, warmup, cooldown, shape}): {steps, loss, lr, final, spec} or
   * {error}. */
  function predict(m, s, maxPoints) {
    var sched = wsd(s);
    if (sched.error) { return {error: sched.error, spec: specOf(s)}; }
    var T = sched.total;
    var eta = lrs(sched, T);
    var steps = evalSteps(T, maxPoints || m.max_points || 400);
    var f = LAWS[m.law];
    if (!f) { return {error: "no explorer for law " + m.law, spec: specOf(s)}; }
    var loss = f(m, eta, steps);
    return {steps: steps, loss: loss, lr: steps.map(function (t) { return eta[t]; }),
            eta: eta, final: loss[loss.length - 1], spec: specOf(s), nCool: sched.nCool};
  }

  // ------------------------------------------------------------------ drawing (SVG)
  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function niceTicks(lo, hi, n) {
    var span = hi - lo;
    if (!(span > 0)) { return [lo]; }
    var step = Math.pow(10, Math.floor(Math.log10(span / n)));
    var err = span / n / step;
    if (err >= 7.5) { step *= 10; } else if (err >= 3.5) { step *= 5; } else if (err >= 1.5) { step *= 2; }
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) { out.push(v); }
    return {values: out, step: step};
  }

  function fmtTick(v, step) {
    var d = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return d > 6 ? v.toExponential(1) : v.toFixed(d);
  }

  function fmtLR(v) { return v === 0 ? "0" : v.toExponential(2); }

  function pathOf(xs, ys, X, Y) {
    var d = "";
    for (var i = 0; i < xs.length; i++) {
      if (!isFinite(ys[i])) { continue; }
      d += (d ? "L" : "M") + X(xs[i]).toFixed(2) + "," + Y(ys[i]).toFixed(2);
    }
    return d;
  }

  function draw(panel) {
    var svg = panel.svg, cur = panel.lastCurve, ref = panel.reference, m = panel.model;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var Wd = 720, H = 380, left = 64, right = 150, top = 12, mid = 250, lrTop = 282, bottom = 340;
    var curves = [cur].concat(ref && !ref.error ? [ref] : []);
    var xmax = Math.max.apply(null, curves.map(function (c) { return c.steps[c.steps.length - 1]; }));
    var lo = Infinity, hi = -Infinity, lrMax = 0;
    curves.forEach(function (c) {
      var T = c.steps[c.steps.length - 1];
      for (var i = 0; i < c.steps.length; i++) {
        if (!isFinite(c.loss[i])) { continue; }
        lo = Math.min(lo, c.loss[i]);
        if (c.steps[i] >= 0.12 * T) { hi = Math.max(hi, c.loss[i]); }
        lrMax = Math.max(lrMax, c.lr[i]);
      }
    });
    if (!(hi > lo)) { hi = lo + 1e-3; }
    var pad = 0.06 * (hi - lo);
    lo -= pad; hi += pad;
    var X = function (v) { return left + (Wd - left - right) * v / xmax; };
    var Y = function (v) { return top + (mid - top) * (hi - v) / (hi - lo); };
    var YL = function (v) { return lrTop + (bottom - lrTop) * (1 - v / (lrMax * 1.05)); };
    el("rect", {x: left, y: top, width: Wd - left - right, height: mid - top, fill: "none", stroke: "#bbb"}, svg);
    el("rect", {x: left, y: lrTop, width: Wd - left - right, height: bottom - lrTop, fill: "none", stroke: "#bbb"}, svg);
    var clip = el("clipPath", {id: "clip-" + panel.index}, el("defs", {}, svg));
    el("rect", {x: left, y: top, width: Wd - left - right, height: mid - top}, clip);
    var yt = niceTicks(lo, hi, 5);
    yt.values.forEach(function (v) {
      el("line", {x1: left, x2: Wd - right, y1: Y(v), y2: Y(v), stroke: "#eee"}, svg);
      el("text", {x: left - 6, y: Y(v) + 4, "text-anchor": "end", "class": "tick"}, svg).textContent = fmtTick(v, yt.step);
    });
    var xt = niceTicks(0, xmax, 6);
    xt.values.forEach(function (v) {
      el("line", {x1: X(v), x2: X(v), y1: bottom, y2: bottom + 4, stroke: "#666"}, svg);
      el("text", {x: X(v), y: bottom + 16, "text-anchor": "middle", "class": "tick"}, svg).textContent = String(Math.round(v));
    });
    el("text", {x: (left + Wd - right) / 2, y: H - 4, "text-anchor": "middle", "class": "label"}, svg).textContent = "training step";
    el("text", {x: 14, y: (top + mid) / 2, "text-anchor": "middle", "class": "label",
                transform: "rotate(-90 14 " + (top + mid) / 2 + ")"}, svg).textContent = "predicted loss (" + m.loss_unit + ")";
    el("text", {x: 14, y: (lrTop + bottom) / 2, "text-anchor": "middle", "class": "label",
                transform: "rotate(-90 14 " + (lrTop + bottom) / 2 + ")"}, svg).textContent = "LR";
    el("text", {x: left - 6, y: lrTop + 8, "text-anchor": "end", "class": "tick"}, svg).textContent = fmtLR(lrMax);
    el("text", {x: left - 6, y: bottom, "text-anchor": "end", "class": "tick"}, svg).textContent = "0";
    if (m.fitted_steps && m.fitted_steps <= xmax) {
      el("line", {x1: X(m.fitted_steps), x2: X(m.fitted_steps), y1: top, y2: bottom, stroke: "#999",
                  "stroke-dasharray": "2,3"}, svg);
      el("text", {x: X(m.fitted_steps) - 4, y: top + 12, "text-anchor": "end", "class": "tick"}, svg).textContent =
        "longest fitted run";
    }
    var g = el("g", {"clip-path": "url(#clip-" + panel.index + ")"}, svg);
    if (ref && !ref.error) {
      el("path", {d: pathOf(ref.steps, ref.loss, X, Y), fill: "none", stroke: "#999", "stroke-width": 1.3,
                  "stroke-dasharray": "5,3", "class": "reference"}, g);
      el("path", {d: pathOf(ref.steps, ref.lr, X, YL), fill: "none", stroke: "#999", "stroke-width": 1,
                  "stroke-dasharray": "5,3"}, svg);
    }
    var obs = m.observed, d0 = m.defaults, st = panel.state;
    var atStart = obs && ["peak", "final", "steps", "warmup", "cooldown", "shape"].every(function (k) {
      return st[k] === d0[k];
    });
    if (atStart) {
      for (var i = 0; i < obs.steps.length; i++) {
        if (isFinite(obs.loss[i]) && obs.loss[i] <= hi && obs.loss[i] >= lo) {
          el("circle", {cx: X(obs.steps[i]), cy: Y(obs.loss[i]), r: 2, fill: "#0072B2", "fill-opacity": 0.6,
                        "class": "observed"}, g);
        }
      }
      el("text", {x: Wd - right - 6, y: top + 26, "text-anchor": "end", "class": "tick", fill: "#0072B2"}, svg)
        .textContent = "points: the logged run " + obs.name;
    }
    el("path", {d: pathOf(cur.steps, cur.loss, X, Y), fill: "none", stroke: "#D55E00", "stroke-width": 2,
                "class": "curve"}, g);
    el("path", {d: pathOf(cur.steps, cur.lr, X, YL), fill: "none", stroke: "#D55E00", "stroke-width": 1.5}, svg);
    var T = cur.steps[cur.steps.length - 1];
    el("circle", {cx: X(T), cy: Y(cur.final), r: 3.5, fill: "#D55E00"}, svg);
    el("text", {x: X(T) + 8, y: Y(cur.final) + 4, "class": "final"}, svg).textContent = cur.final.toFixed(4);
    var Tr = ref && !ref.error ? ref.steps[ref.steps.length - 1] : null;
    if (Tr !== null && !(Tr === T && ref.final === cur.final)) {
      el("text", {x: X(Tr) + 8, y: Y(ref.final) + (Math.abs(Y(ref.final) - Y(cur.final)) < 12 ? 16 : 4),
                  "class": "tick"}, svg).textContent = ref.final.toFixed(4) + " (start)";
    }
  }

  // ------------------------------------------------------------------ the panel
  function Panel(root, index) {
    this.root = root;
    this.index = index;
    this.model = JSON.parse(root.querySelector("script.explorer-model").textContent);
    this.svg = root.querySelector("svg.explorer-plot");
    this.inputs = {};
    var self = this;
    ["cooldown", "shape", "final", "steps"].forEach(function (name) {
      var input = root.querySelector("[data-role=" + name + "]");
      self.inputs[name] = input;
      input.addEventListener("input", function () { self.update(); });
      input.addEventListener("change", function () { self.update(); });
    });
    var d = this.model.defaults;
    this.reference = predict(this.model, d);
    this.update();
  }

  /* The settings the controls show: the final LR and the step budget on log scales. */
  Panel.prototype.read = function () {
    var m = this.model, d = m.defaults, i = this.inputs;
    var steps = Math.round(Math.pow(10, parseFloat(i.steps.value)));
    steps = Math.min(Math.max(steps, m.steps_range[0]), m.steps_range[1]);
    var cooldown = parseFloat(i.cooldown.value);
    var fexp = parseFloat(i.final.value);
    var final = d.peak * Math.pow(10, fexp);
    // a slider still at its start gives the start value exactly (10^log10(x) may differ in the last bit)
    if (parseFloat(i.steps.value) === parseFloat(i.steps.getAttribute("value"))) { steps = d.steps; }
    if (parseFloat(i.final.value) === parseFloat(i.final.getAttribute("value"))) { final = d.final; }
    return {peak: d.peak, warmup: d.warmup, steps: steps, final: final, cooldown: cooldown,
            shape: i.shape.value};
  };

  Panel.prototype.update = function () {
    var s = this.read(), m = this.model;
    // a cooldown longer than the steps after warmup is not a WSD schedule: shorten it
    var most = Math.floor((s.steps - s.warmup) / s.steps * 100) / 100;
    if (s.cooldown < 1 && roundHalfEven(s.cooldown * s.steps) > s.steps - s.warmup) {
      s.cooldown = most;
      this.inputs.cooldown.value = String(most);
    }
    var cur = predict(m, s);
    this.state = s;
    var out = function (root, name) { return root.querySelector("[data-out=" + name + "]"); };
    out(this.root, "spec").textContent = cur.spec;
    out(this.root, "cooldown").textContent = s.cooldown.toFixed(2) + (cur.nCool !== undefined ? " (" + cur.nCool + " steps)" : "");
    out(this.root, "shape").textContent = s.shape;
    out(this.root, "final").textContent = fmtLR(s.final);
    out(this.root, "steps").textContent = String(s.steps);
    var warn = [];
    if (cur.error) {
      out(this.root, "loss").textContent = "—";
      warn.push(cur.error);
      this.lastCurve = null;
      this.finalLoss = null;
    } else {
      this.lastCurve = {steps: cur.steps, loss: cur.loss, lr: cur.lr, final: cur.final, spec: cur.spec};
      this.finalLoss = cur.final;
      this.spec = cur.spec;
      out(this.root, "loss").textContent = cur.final.toFixed(4);
      this.root.setAttribute("data-final-loss", String(cur.final));
      if (m.fitted_steps && s.steps > 3 * m.fitted_steps) {
        warn.push("step " + s.steps + " is " + (s.steps / m.fitted_steps).toFixed(1) +
                  "x the longest fitted run: an extrapolation");
      }
      if (!(cur.final > 0)) { warn.push("the predicted loss is <= 0: the law is outside its valid region"); }
      draw(this);
    }
    out(this.root, "warn").textContent = warn.join("; ");
    this.root.setAttribute("data-spec", cur.spec);
  };

  var api = {predict: predict, wsd: wsd, lrs: lrs, detectWarmup: detectWarmup, evalSteps: evalSteps,
             roundHalfEven: roundHalfEven, panels: []};
  if (typeof window !== "undefined") {
    window.scalelawExplorer = api;
    var start = function () {
      var roots = document.querySelectorAll("[data-scalelaw-explorer]");
      for (var i = 0; i < roots.length; i++) { api.panels.push(new Panel(roots[i], i)); }
      api.ready = true;
    };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }
  if (typeof module !== "undefined" && module.exports) { module.exports = api; }
})();
