"""Draw 2-D vectors with the mouse (or a finger): a custom component v2, UI only.

``draw_vectors(vectors, mode=..., key=...)`` shows the square [-1, 1]² with the vectors as
arrows from the origin and returns the list as the user left it:

* click (tap) on empty space: adds the vector from the origin to that point, at the clicked
  length (clamped to the square, rounded to 3 decimals; clicks within 0.04 of the origin are
  ignored, and so is any click once 24 vectors are drawn);
* drag an arrow's tip: moves that vector; the new value is sent when the button is released;
* double-click (double-tap) an arrow or its tip: deletes it; the "clear" button deletes all.

Coordinates are plane units, y up. Only vectors the user created or moved are rounded; the
others come back exactly as passed in. A vector outside the square is drawn shrunk onto its
border (same direction) until it is dragged.

``mode`` changes the drawing only:

* ``"normal"``: dashed red arrows a1, a2, … and a light shade on each half-plane {x : a·x ≤ 0};
* ``"boundary"``: each vector is a solid line through the origin with an arrowhead at the
  vector's tip, labelled a1, a2, …, shading the half-plane to its left. The vectors come back
  as drawn; the caller turns a direction d into the normal (d_y, -d_x) of that half-plane;
* ``"generator"``: blue arrows r1, r2, … and no shading;
* ``"facet"``: half-planes that need not pass through the origin: the vector ``p`` is a dashed
  arrow from the origin to a point of the boundary line ``p·x = |p|²``, drawn solid across the
  square at a right angle to ``p``, with the side it cuts away (beyond the line) shaded. The
  caller reads each vector as the row ``p·x ≤ |p|²``: dragging a tip moves its side.

The caller owns the list: store what this returns and pass it back as ``vectors`` on the next
run (``st.session_state["v"] = draw_vectors(st.session_state.get("v", start), ...)``). In the
run right after the user drew, the drawing is returned (the caller's list is still the old
one); in every other run, a ``vectors`` different from what is drawn (say, the user edited a
table) replaces the drawing. A caller that always passes the same constant list therefore sees
the user's drawing undone at the next unrelated rerun.

The component state (``{"vectors": [...]}``, set by the JS with ``setStateValue``) lives under
the widget key ``f"{key}.v{n}"``; ``n`` grows each time the caller replaces the drawing, so a
fresh instance starts without stale state. Bookkeeping: ``st.session_state[f"_draw2d::{key}"]``.
"""

from __future__ import annotations

import math
from functools import partial
from numbers import Real
from typing import Any

import streamlit as st

MODES = ("normal", "boundary", "generator", "facet")
MAX_VECTORS = 24

_HTML = '<div class="d2d"></div>'

_CSS = """
.d2d { position: relative; max-width: 100%; font-family: var(--st-font, sans-serif);
       color: var(--st-text-color, #31333f); }
.d2d svg { display: block; width: 100%; height: auto; aspect-ratio: 1 / 1;
           touch-action: manipulation; user-select: none; -webkit-user-select: none; }
.d2d .grid { stroke: currentColor; stroke-opacity: 0.09; stroke-width: 1; }
.d2d .axis { stroke: currentColor; stroke-opacity: 0.45; stroke-width: 1.2; }
.d2d .frame { fill: none; stroke: currentColor; stroke-opacity: 0.3; stroke-width: 1; }
.d2d text { fill: currentColor; font-size: 12px; }
.d2d .tick { fill-opacity: 0.55; font-size: 11px; }
.d2d .lbl { pointer-events: none; font-size: 16px; font-weight: 600; paint-order: stroke;
            stroke: var(--st-background-color, #fff); stroke-width: 4px; stroke-linejoin: round; }
.d2d .hit { stroke: transparent; stroke-width: 14; cursor: pointer; }
.d2d .tip { cursor: grab; touch-action: none; }
.d2d .tip:active { cursor: grabbing; }
.d2d .bar { display: flex; align-items: center; justify-content: space-between; gap: 8px;
            padding: 0 4px; font-size: 12px; }
.d2d .hint { opacity: 0.6; min-width: 0; white-space: nowrap; overflow: hidden;
             text-overflow: ellipsis; }
.d2d button.clear { font: inherit; font-size: 12px; padding: 1px 10px; cursor: pointer;
    color: inherit; background: var(--st-background-color, #fff);
    border: 1px solid var(--st-border-color, #ccc); border-radius: var(--st-button-radius, 6px); }
.d2d button.clear:hover { border-color: var(--st-primary-color, #1f6feb); }
"""

# The default export runs again on every render whose data changed, on the same parentElement:
# listeners are attached once per root (WeakMap), and each call only replaces the drawing.
_JS = r"""
const NS = "http://www.w3.org/2000/svg";
const C = 200, S = 170;  // viewBox 0..400; the plane [-1, 1] maps to [30, 370]
const LOOK = {
  normal:    { color: "#d62728", letter: "a", shade: true,  line: false, dash: "7 5" },
  boundary:  { color: "#d62728", letter: "a", shade: true,  line: true,  dash: null },
  generator: { color: "#1f77b4", letter: "r", shade: false, line: false, dash: null },
  facet:     { color: "#d62728", letter: "a", shade: true,  line: false, dash: "4 4",
               offset: true },
};
const instances = new WeakMap();

const round3 = (t) => Math.round(t * 1000) / 1000;
const clamp = (t) => Math.max(-1, Math.min(1, t));
const px = ([x, y]) => [C + S * x, C - S * y];

function el(tag, attrs, parent) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

// Where a vector is drawn: itself, or shrunk onto the square's border if it lies outside.
function shown([x, y]) {
  const m = Math.max(Math.abs(x), Math.abs(y));
  return m > 1 ? [x / m, y / m] : [x, y];
}

// The square clipped to the half-plane {p : a.p <= c} (c = 0: through the origin), a polygon.
function halfPlane(a, c = 0) {
  const sq = [[-1, -1], [1, -1], [1, 1], [-1, 1]], out = [];
  const f = (p) => a[0] * p[0] + a[1] * p[1] - c;
  for (let i = 0; i < 4; i++) {
    const p = sq[i], q = sq[(i + 1) % 4], fp = f(p), fq = f(q);
    if (fp <= 0) out.push(p);
    if ((fp < 0 && fq > 0) || (fp > 0 && fq < 0)) {
      const t = fp / (fp - fq);
      out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
    }
  }
  return out;
}

function arrowHead(tip, dir, color, parent) {
  const [tx, ty] = px(tip), ux = dir[0], uy = -dir[1];  // svg y points down
  const bx = tx - 12 * ux, by = ty - 12 * uy;
  const pts = [[tx, ty], [bx - 5 * uy, by + 5 * ux], [bx + 5 * uy, by - 5 * ux]];
  el("polygon", { points: pts.map((p) => p.join(",")).join(" "), fill: color }, parent);
}

function drawGrid(svg) {
  const g = el("g", {}, svg);
  for (let k = -4; k <= 4; k++) {
    const t = C + (S * k) / 4;
    if (k !== 0) {
      el("line", { class: "grid", x1: t, y1: C - S, x2: t, y2: C + S }, g);
      el("line", { class: "grid", x1: C - S, y1: t, x2: C + S, y2: t }, g);
    }
  }
  el("rect", { class: "frame", x: C - S, y: C - S, width: 2 * S, height: 2 * S }, g);
  el("line", { class: "axis", x1: C - S, y1: C, x2: C + S, y2: C }, g);
  el("line", { class: "axis", x1: C, y1: C - S, x2: C, y2: C + S }, g);
  const tick = (x, y, s, anchor) => {
    el("text", { class: "tick", x, y, "text-anchor": anchor }, g).textContent = s;
  };
  tick(C + S - 3, C + 14, "1", "end");
  tick(C - S + 3, C + 14, "−1", "start");
  tick(C - 6, C - S + 12, "1", "end");
  tick(C - 6, C + S - 4, "−1", "end");
}

function render(inst) {
  const look = LOOK[inst.mode] || LOOK.normal, pr = inst.press;
  inst.shade.replaceChildren();
  inst.arrows.replaceChildren();
  inst.tips.replaceChildren();
  const vs = inst.vectors.map((v, i) => (pr && pr.moved && pr.i === i ? pr.pos : v));
  vs.forEach((v, i) => {
    const tip = shown(v), len = Math.hypot(tip[0], tip[1]);
    const dir = len > 1e-9 ? [tip[0] / len, tip[1] / len] : [1, 0];
    if (look.offset && len > 1e-9) {  // facet: the side cut away is beyond the line
      const cut = halfPlane([-dir[0], -dir[1]], -len).map((p) => px(p).join(",")).join(" ");
      if (cut) el("polygon", { points: cut, fill: look.color, "fill-opacity": 0.12 }, inst.shade);
      const [ax, ay] = px([tip[0] - 3 * dir[1], tip[1] + 3 * dir[0]]);
      const [bx, by] = px([tip[0] + 3 * dir[1], tip[1] - 3 * dir[0]]);
      el("line", { class: "side", x1: ax, y1: ay, x2: bx, y2: by, stroke: look.color,
                   "stroke-width": 2.2 }, inst.shade);
    } else if (look.shade && len > 1e-9) {
      const a = look.line ? [dir[1], -dir[0]] : dir;  // boundary: shade the left side
      const poly = halfPlane(a).map((p) => px(p).join(",")).join(" ");
      el("polygon", { points: poly, fill: look.color, "fill-opacity": 0.08 }, inst.shade);
    }
    const g = el("g", { "data-i": i, class: "vec" }, inst.arrows);
    const [ox, oy] = look.line ? px(shown([-dir[0] * 2, -dir[1] * 2])) : px([0, 0]);
    const [ex, ey] = look.line ? px(shown([dir[0] * 2, dir[1] * 2])) : px(tip);
    el("line", { class: "hit", x1: ox, y1: oy, x2: ex, y2: ey }, g);
    if (len * S > 14) {
      const [sx, sy] = px([tip[0] - (11 * dir[0]) / S, tip[1] - (11 * dir[1]) / S]);
      const shaft = { x1: ox, y1: oy, x2: look.line ? ex : sx, y2: look.line ? ey : sy };
      el("line", { ...shaft, stroke: look.color, "stroke-width": 2.2,
                   "stroke-dasharray": look.dash || "none" }, g);
      arrowHead(tip, dir, look.color, g);
    }
    const [tx, ty] = px(tip);
    el("circle", { cx: tx, cy: ty, r: 3.5, fill: look.color }, g);
    el("circle", { class: "tip", "data-i": i, cx: tx, cy: ty, r: 12, fill: "transparent" },
       inst.tips);  // all tips above all arrows: a tip is never hidden under another arrow
    const lbl = el("text", { class: "lbl", x: tx + 16 * dir[0], y: ty - 16 * dir[1] + 5,
                             "text-anchor": "middle", style: `fill: ${look.color}` }, g);
    lbl.textContent = look.letter;
    const sub = el("tspan", { dy: 4, "font-size": 11 }, lbl);
    sub.textContent = String(i + 1);
  });
}

function setup(root) {
  root.replaceChildren();
  const svg = el("svg", { viewBox: "0 0 400 400", role: "img",
                          "aria-label": "vectors in the plane" }, root);
  drawGrid(svg);
  const layer = () => el("g", {}, svg);
  // Shading and sides stay inside the square (a facet's side runs across it).
  const clipId = `d2d-clip-${Math.random().toString(36).slice(2)}`;
  const clip = el("clipPath", { id: clipId }, el("defs", {}, svg));
  el("rect", { x: C - S, y: C - S, width: 2 * S, height: 2 * S }, clip);
  const shade = el("g", { "clip-path": `url(#${clipId})` }, svg);
  const inst = { root, svg, shade, arrows: layer(), tips: layer(), vectors: [],
                 mode: "normal", max: 24, press: null, lastTap: null, send: null };
  svg.insertBefore(inst.shade, svg.firstChild);  // shading under the grid lines
  const bar = document.createElement("div");
  bar.className = "bar";
  bar.innerHTML = '<span class="hint" title="click: add · drag a tip: move · double-click: delete">'
    + 'click: add · drag: move · double-click: delete</span>'
    + '<button class="clear" type="button">clear</button>';
  bar.querySelector("button").addEventListener("click", () => { inst.vectors = []; commit(inst); });
  root.appendChild(bar);

  const toPlane = (e) => {
    const q = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
    return [(q.x - C) / S, (C - q.y) / S];
  };
  svg.addEventListener("pointerdown", (e) => {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const g = e.target.closest("[data-i]"), p = toPlane(e);
    inst.press = { id: e.pointerId, i: g ? Number(g.dataset.i) : -1,
                   tip: Boolean(e.target.closest(".tip")), start: p, pos: p, moved: false };
    if (inst.press.tip) { svg.setPointerCapture(e.pointerId); e.preventDefault(); }
  });
  svg.addEventListener("pointermove", (e) => {
    const pr = inst.press;
    if (!pr || !pr.tip || e.pointerId !== pr.id) return;
    const p = toPlane(e);
    if (!pr.moved && Math.hypot(p[0] - pr.start[0], p[1] - pr.start[1]) * S < 4) return;
    pr.moved = true;
    pr.pos = [clamp(p[0]), clamp(p[1])];
    render(inst);
  });
  svg.addEventListener("pointerup", (e) => {
    const pr = inst.press;
    if (!pr || e.pointerId !== pr.id) return;
    inst.press = null;
    const p = toPlane(e), now = performance.now();
    if (pr.moved) {  // end of a drag: send the moved vector
      if (pr.i < inst.vectors.length) inst.vectors[pr.i] = pr.pos.map(round3);
      inst.lastTap = null;
      commit(inst);
    } else if (pr.i >= 0) {  // a tap on a vector: the second one within 450 ms deletes it
      const last = inst.lastTap;
      if (last && last.i === pr.i && now - last.t < 450) {
        inst.lastTap = null;
        inst.vectors.splice(pr.i, 1);
        commit(inst);
      } else inst.lastTap = { i: pr.i, t: now };
    } else if (Math.hypot(p[0] - pr.start[0], p[1] - pr.start[1]) * S < 6) {  // tap on empty space
      const v = [round3(clamp(p[0])), round3(clamp(p[1]))];
      if (Math.hypot(v[0], v[1]) < 0.04 || inst.vectors.length >= inst.max) return;
      inst.lastTap = null;
      inst.vectors.push(v);
      commit(inst);
    }
  });
  svg.addEventListener("pointercancel", () => { inst.press = null; render(inst); });
  return inst;
}

function commit(inst) {
  render(inst);
  if (inst.send) inst.send("vectors", inst.vectors.map((v) => [v[0], v[1]]));
}

export default function ({ data, setStateValue, parentElement }) {
  const root = parentElement.querySelector(".d2d");
  if (!root) return;
  let inst = instances.get(parentElement);
  if (!inst || inst.root !== root) {
    inst = setup(root);
    instances.set(parentElement, inst);
  }
  const d = data || {};
  inst.send = setStateValue;
  inst.mode = d.mode || "normal";
  inst.max = d.max || 24;
  inst.vectors = (d.vectors || []).map((v) => [Number(v[0]), Number(v[1])]);
  if (inst.press && inst.press.i >= inst.vectors.length) inst.press = null;
  root.style.width = `${d.height || 360}px`;
  render(inst);
  return () => instances.delete(parentElement);
}
"""

_component = st.components.v2.component("draw2d_vectors", html=_HTML, css=_CSS, js=_JS)


def _is_number(t: Any) -> bool:
    return isinstance(t, Real) and not isinstance(t, bool) and math.isfinite(float(t))


def _validated(value: Any) -> list[list[float]] | None:
    """What the component sent, if it is a list of finite pairs (first 24 kept), else None."""
    if not isinstance(value, list):
        return None
    out = []
    for row in value[:MAX_VECTORS]:
        if not (isinstance(row, (list, tuple)) and len(row) == 2 and all(map(_is_number, row))):
            return None
        out.append([float(row[0]), float(row[1])])
    return out


def _coerced(vectors: Any) -> list[list[float]]:
    """The caller's vectors as float pairs; rows that are not two finite numbers are dropped."""
    if hasattr(vectors, "tolist"):  # numpy arrays, pandas frames' .to_numpy()
        vectors = vectors.tolist()
    out = []
    for row in list(vectors or [])[:MAX_VECTORS]:
        if isinstance(row, (str, bytes)):
            continue
        try:
            x, y = (float(t) for t in row)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            out.append([x, y])
    return out


def _on_change(widget_key: str, memo_key: str) -> None:
    """Callback: the user drew something; keep it for the wrapper to validate."""
    state = st.session_state.get(widget_key)
    memo = st.session_state.get(memo_key)
    if memo is not None:
        memo["reported"] = state.get("vectors") if hasattr(state, "get") else None


def draw_vectors(
    vectors: list[list[float]], *, mode: str, key: str, height: int = 360
) -> list[list[float]]:
    """Show ``vectors`` as arrows on the plane [-1, 1]² and return the list as the user left it.

    See the module docstring for the gestures and the modes. ``height`` is the side of the
    square plane in pixels (it shrinks to the column's width when the column is narrower).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    given = _coerced(vectors)
    memo_key = f"_draw2d::{key}"
    memo = st.session_state.get(memo_key)
    if memo is None:
        memo = {"current": given, "version": 0}
        st.session_state[memo_key] = memo
    elif "reported" in memo:  # the user just drew: that wins over the (not yet updated) input
        drawn = _validated(memo.pop("reported"))
        memo["current"] = drawn if drawn is not None else given
    elif given != memo["current"]:  # the caller passes something else: show theirs
        memo["current"] = given
        # A fresh component instance: the old one's state would otherwise linger, and a
        # drawing equal to it (say "clear" twice) would not count as a change.
        memo["version"] += 1
    widget_key = f"{key}.v{memo['version']}"
    _component(
        key=widget_key,
        data={"vectors": memo["current"], "mode": mode, "height": int(height),
              "max": MAX_VECTORS},
        height="content",
        on_vectors_change=partial(_on_change, widget_key, memo_key),
    )
    return [list(v) for v in memo["current"]]
