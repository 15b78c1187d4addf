// The shipment chart: per-device min/max bands, the validated temperature, the
// product range, excursions, door/reefer events and breach-soon warnings, redrawn every 5 s from
// the server's downsampled series (uPlot, installed from npm).
(function () {
  "use strict";
  const container = document.getElementById("chart");
  if (!container) return;
  const url = container.dataset.seriesUrl;
  const COLOURS = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#57606a"];
  let chart = null;
  let shape = "";
  let latest = null;

  function yRange(data) {
    let lo = data.range.min, hi = data.range.max;
    for (const device of data.devices) {
      for (const v of device.min) if (v !== null) lo = Math.min(lo, v);
      for (const v of device.max) if (v !== null) hi = Math.max(hi, v);
    }
    return [Math.floor(lo - 1), Math.ceil(hi + 1)];
  }

  function columns(data) {
    const cols = [data.x];
    for (const device of data.devices) cols.push(device.max, device.min);
    cols.push(data.validated);
    return cols;
  }

  function fillBehind(u) {
    const ctx = u.ctx, { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const yMax = u.valToPos(latest.range.max, "y", true);
    const yMin = u.valToPos(latest.range.min, "y", true);
    ctx.fillStyle = "rgba(26,127,55,0.10)";
    ctx.fillRect(left, yMax, width, yMin - yMax);
    ctx.fillStyle = "rgba(207,34,46,0.16)";
    for (const [from, to] of latest.excursions) {
      const x0 = u.valToPos(from, "x", true), x1 = u.valToPos(to, "x", true);
      ctx.fillRect(x0, top, Math.max(x1 - x0, 2), height);
    }
    ctx.restore();
  }

  function eventTicks(u) {
    const ctx = u.ctx, { top } = u.bbox;
    const tick = (times, colour, offset) => {
      ctx.fillStyle = colour;
      for (const t of times) ctx.fillRect(u.valToPos(t, "x", true) - 1, top + offset, 3, 8);
    };
    tick(latest.door_open, "#bc4c00", 0);
    tick(latest.reefer_off, "#8250df", 10);
    tick(latest.breach_soon, "#d4a72c", 20);
  }

  function build(data) {
    const series = [{}];
    const bands = [];
    data.devices.forEach((device, i) => {
      const colour = COLOURS[i % COLOURS.length];
      series.push({ label: device.id + " max", stroke: colour, width: 1, spanGaps: false });
      series.push({ label: device.id + " min", stroke: colour, width: 1, dash: [4, 3], spanGaps: false });
      bands.push({ series: [2 * i + 1, 2 * i + 2], fill: colour + "22" });
    });
    series.push({ label: "validated", stroke: "#1b1f24", width: 2.5, spanGaps: true });
    const options = {
      width: container.clientWidth || 900,
      height: 380,
      series,
      bands,
      scales: { x: { time: true, range: () => latest.span }, y: { range: () => yRange(latest) } },
      axes: [{}, { label: "°C" }],
      hooks: { drawClear: [fillBehind], draw: [eventTicks] },
    };
    if (chart) chart.destroy();
    chart = new uPlot(options, columns(data), container);
  }

  async function refresh() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      latest = await response.json();
      const nextShape = latest.devices.map((d) => d.id).join(",");
      if (!chart || nextShape !== shape) {
        shape = nextShape;
        build(latest);
      } else {
        chart.setData(columns(latest));
      }
      container.dataset.points = String(latest.x.length);
    } catch (error) {
      container.dataset.error = String(error);
    }
  }

  refresh();
  setInterval(refresh, 5000);
  window.addEventListener("resize", () => chart && chart.setSize({ width: container.clientWidth, height: 380 }));
})();
