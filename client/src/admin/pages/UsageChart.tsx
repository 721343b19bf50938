// One uPlot chart (a value per person per day). uPlot draws on a canvas: small (~50 KB), fast, made for time
// series. Re-created when the data or the width changes (a few series over a month: cheaper than diffing).
import uPlot from 'uplot';
import { createEffect, onCleanup, onMount, type JSX } from 'solid-js';

/** Distinct on white and for the common colour-vision deficiencies (Okabe–Ito). */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'];

export function UsageChart(props: { title: string; unit: string; users: string[]; columns: number[][]; testId: string }): JSX.Element {
  let box!: HTMLDivElement;
  let chart: uPlot | undefined;
  let width = 600;

  const draw = () => {
    chart?.destroy();
    const x = props.columns[0] ?? [];
    const first = x[0] ?? Date.now() / 1000;
    const last = x[x.length - 1] ?? first;
    const opts: uPlot.Options = {
      width,
      height: 240,
      title: props.title,
      // Half a day either side of the first and last day: uPlot's own range for one day spans years.
      scales: { x: { time: true, auto: false, range: [first - 43_200, last + 43_200] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      // Days are UTC days (as the Store counts usage): ticks on whole days, labelled MM-DD.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      axes: [{ incrs: [86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400], values: (_u, splits) => splits.map((t) => new Date(t * 1000).toISOString().slice(5, 10)) }, { label: props.unit, size: 64 }],
      series: [{}, ...props.users.map((u, i) => ({ label: u, stroke: PALETTE[i % PALETTE.length]!, width: 2, points: { show: true, size: 8 } }))],
    };
    chart = new uPlot(opts, props.columns as uPlot.AlignedData, box);
  };

  onMount(() => {
    const observer = new ResizeObserver(() => {
      const w = Math.max(260, Math.floor(box.clientWidth));
      if (Math.abs(w - width) < 8 && chart) return;
      width = w;
      draw();
    });
    observer.observe(box);
    onCleanup(() => observer.disconnect());
  });
  createEffect(() => {
    void props.columns;
    void props.users;
    width = Math.max(260, Math.floor(box.clientWidth || width));
    draw();
  });
  onCleanup(() => chart?.destroy());

  return <div ref={box} class="chart" data-testid={props.testId} role="img" aria-label={`${props.title} per person per day (the table below has the same numbers)`} />;
}
