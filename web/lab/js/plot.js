// Line charts with axes, drawn by uPlot (vendor/uplot, loaded as the global `uPlot`).
//
// drawPlot(box, {x, series: [{label, values}], title, xLabel, yLabel}) fills `box` with a
// chart and returns it. After each draw the box carries data-points (x values drawn) and
// data-series (number of y series), which the browser tests check together with the canvas.

const COLORS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a"];

function describe(x, series) {
  const ys = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const range = (vs) => (vs.length ? `${fmt(Math.min(...vs))} to ${fmt(Math.max(...vs))}` : "none");
  return `Line chart of ${x.length} points; x from ${range(x.filter(Number.isFinite))}, ` +
    `y from ${range(ys)}`;
}

function fmt(v) {
  return Number.parseFloat(v.toPrecision(4)).toString();
}

export function drawPlot(box, { x, series, title = null, xLabel = "x", yLabel = "y" }) {
  if (box._uplot) {
    box._uplot.destroy();
    box._uplot = null;
  }
  if (box._resize) box._resize.disconnect();
  box.replaceChildren();
  box.classList.add("plot");
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", (title ? `${title}. ` : "") + describe(x, series));
  box.dataset.points = "0";
  box.dataset.series = String(series.length);

  const width = () => Math.max(240, Math.min(box.clientWidth || 600, 900));
  const options = {
    title: title || undefined,
    width: width(),
    height: 260,
    scales: {
      x: { time: false },
      // a flat trace (all zeros) gets ±1 around it instead of uPlot's 0..100
      // eslint-disable-next-line no-undef
      y: { range: (u, min, max) => (min === max ? [min - 1, max + 1] : uPlot.rangeNum(min, max, 0.1, true)) },
    },
    // the legend shows the values under the cursor; drag across to zoom, double-click resets
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    axes: [{ label: xLabel }, { label: yLabel }],
    series: [
      { label: xLabel },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        points: { show: x.length <= 60 },
      })),
    ],
    hooks: {
      draw: [(u) => {
        box.dataset.points = String(u.data[0].length);
      }],
    },
  };
  // uPlot wants x ascending; plot(x, y) from a script may come in any order.
  const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
  const data = [order.map((i) => x[i]), ...series.map((s) => order.map((i) => s.values[i]))];
  // eslint-disable-next-line no-undef
  box._uplot = new uPlot(options, data, box);
  box._resize = new ResizeObserver(() => {
    if (box._uplot && Math.abs(box._uplot.width - width()) > 4) {
      box._uplot.setSize({ width: width(), height: 260 });
    }
  });
  box._resize.observe(box);
  return box;
}

// A capture result {"t": [µs...], "CH1": [V...], ...} → drawPlot arguments.
export function captureSeries(result) {
  const channels = Object.keys(result).filter((k) => k !== "t" && Array.isArray(result[k]));
  return {
    x: result.t,
    series: channels.map((c) => ({ label: c, values: result[c] })),
    xLabel: "t (µs)",
    yLabel: "V",
  };
}

export function isCapture(value) {
  return value !== null && typeof value === "object" && Array.isArray(value.t) &&
    Object.keys(value).some((k) => k !== "t" && Array.isArray(value[k]));
}
