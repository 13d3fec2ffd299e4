// Hand-written SVG sparklines: a few dozen points need no chart library.

/**
 * Scale history points into an SVG polyline inside a width x height box.
 * The y range always includes the target (drawn dashed), so that a line just below it
 * does not look like a crisis: the eye compares against a fixed reference.
 *
 * @param {{t: string, occupancy: number | null}[]} points
 * @param {{width: number, height: number, startMs: number, endMs: number, target?: number | null}} box
 * @returns {{line: string, targetY: number | null, fullY: number, min: number, max: number} | null}
 */
export function sparklineGeometry(points, box) {
  const usable = points.filter((p) => p.occupancy != null && !Number.isNaN(Date.parse(p.t)));
  if (usable.length === 0) return null;
  const values = usable.map((p) => /** @type {number} */ (p.occupancy));
  // The target is always a reference; 100 % only when the data comes near it, so that a
  // calm region's line keeps a readable shape instead of a flat stroke.
  const refs = [];
  if (box.target != null) refs.push(box.target);
  if (Math.max(...values) > 0.95) refs.push(1.0);
  let min = Math.min(...values, ...refs);
  let max = Math.max(...values, ...refs);
  const pad = Math.max((max - min) * 0.1, 0.01);
  min -= pad;
  max += pad;
  const span = box.endMs - box.startMs || 1;
  const x = (ms) => ((ms - box.startMs) / span) * box.width;
  const y = (v) => box.height - ((v - min) / (max - min)) * box.height;
  const coords = usable.map((p) => `${round(x(Date.parse(p.t)))},${round(y(/** @type {number} */ (p.occupancy)))}`);
  // A single point still deserves a visible mark: draw it as a short flat segment.
  if (coords.length === 1) coords.push(`${round(box.width)},${coords[0].split(",")[1]}`);
  return {
    line: coords.join(" "),
    targetY: box.target != null ? round(y(box.target)) : null,
    fullY: round(y(1.0)),
    min,
    max,
  };
}

function round(v) {
  return Math.round(v * 10) / 10;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Render (or re-render) a sparkline into an <svg> element. */
export function drawSparkline(svg, points, { startMs, endMs, target, label }) {
  const width = 200;
  const height = 40;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.replaceChildren();
  const g = sparklineGeometry(points, { width, height, startMs, endMs, target });
  if (!g) return;
  const mk = (tag, attrs) => {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.append(el);
    return el;
  };
  if (g.targetY != null) {
    mk("line", { x1: 0, x2: width, y1: g.targetY, y2: g.targetY, class: "spark-target" });
  }
  mk("polyline", { points: g.line, class: "spark-line", fill: "none" });
}
