/** A grouped bar chart as a standalone SVG string (no dependency): one group per workload. */
export interface BarGroup {
  label: string;
  values: { series: string; value: number }[];
}

const COLORS = ["#2f6fde", "#e0823d", "#5aa55a", "#a55ab0"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v >= 10 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(2));

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

export function groupedBarChart(title: string, yLabel: string, groups: BarGroup[]): string {
  const series = [...new Set(groups.flatMap((g) => g.values.map((v) => v.series)))];
  const W = 760;
  const H = 380;
  const left = 70;
  const right = 20;
  const top = 50;
  const bottom = 70;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const max = niceMax(Math.max(...groups.flatMap((g) => g.values.map((v) => v.value))));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const groupW = plotW / Math.max(1, groups.length);
  const barW = (groupW * 0.7) / Math.max(1, series.length);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + groupW * 0.15;
    g.values.forEach((v) => {
      const si = series.indexOf(v.series);
      const x = x0 + si * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${y(v.value).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(v.value)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`);
      out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(v.value) - 4).toFixed(1)}" text-anchor="middle" font-size="11">${fmt(v.value)}</text>`);
    });
    out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${esc(g.label)}</text>`);
  });
  // Each legend entry as wide as its label (about 7 px a character).
  let legendX = left;
  series.forEach((s, si) => {
    const x = legendX;
    legendX += Math.max(120, 18 + s.length * 7 + 24);
    out.push(`<rect x="${x}" y="${H - 28}" width="12" height="12" fill="${COLORS[si % COLORS.length]}"/>`);
    out.push(`<text x="${x + 18}" y="${H - 18}">${esc(s)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Several charts one above the other in one SVG (bench/chart.svg: engines, cluster, API path). */
export function stackCharts(charts: string[]): string {
  const sizes = charts.map((c) => {
    const m = c.match(/^<svg [^>]*width="(\d+)" height="(\d+)"/);
    return { w: Number(m?.[1] ?? 0), h: Number(m?.[2] ?? 0) };
  });
  const W = Math.max(...sizes.map((s) => s.w));
  const H = sizes.reduce((n, s) => n + s.h, 0);
  let y = 0;
  const parts = charts.map((c, i) => {
    const part = c.trimEnd().replace(/^<svg /, `<svg y="${y}" `);
    y += sizes[i]!.h;
    return part;
  });
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`, ...parts, "</svg>"].join("\n") + "\n";
}
