import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { entryPoint } from '@app/testing';

const settings = join(dirname(entryPoint('api')), 'gc-settings.js');

interface MarkCompact {
  /** Marking tasks V8 started on its background threads while JavaScript still ran. */
  tasksWhileRunning: number;
  /** Steps of incremental marking on the main thread, between tasks. */
  incrementalSteps: number;
}

/**
 * The api's GC settings (apps/api/src/gc-settings.ts) are V8 flags set while the process runs,
 * which a later Node release could stop honouring. So this runs the built settings in a process
 * that then fills its old generation, and reads V8's own trace of every mark-compact: when its
 * background marking tasks started, and when its pause began. V8 marks on background threads in
 * the pause too, with the main thread (parallel marking); only tasks that started before the
 * pause ran beside JavaScript.
 */
function markCompacts(concurrentMarking: boolean): MarkCompact[] {
  const script = `
    require(${JSON.stringify(settings)}).applyGcSettings({ concurrentMarking: ${concurrentMarking}, pretenuring: false });
    const kept = [];
    for (let i = 0; i < 600; i += 1) {
      kept.push(Array.from({ length: 20000 }, (_, j) => ({ i, j })));
      if (kept.length > 20) kept.shift();
    }`;
  const result = spawnSync(process.execPath, ['--trace-gc-nvp', '--trace-concurrent-marking', '-e', script], {
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  const collections: MarkCompact[] = [];
  let taskStarts: number[] = [];
  for (const line of result.stdout.split('\n')) {
    const at = Number(/ (\d+) ms: /.exec(line)?.[1]);
    if (/Starting major concurrent marking task/.test(line)) taskStarts.push(at);
    if (!/ gc=mc /.test(line)) continue;
    // The trace line is written when the pause ends, in whole milliseconds.
    const pauseStart = at - Number(/ pause=([0-9.]+)/.exec(line)![1]) - 1;
    collections.push({
      tasksWhileRunning: taskStarts.filter((start) => start < pauseStart).length,
      incrementalSteps: Number(/ incremental_steps_count=(\d+)/.exec(line)![1]),
    });
    taskStarts = [];
  }
  return collections;
}

describe('the api’s garbage collection settings', () => {
  it('with API_CONCURRENT_MARKING=false (the default), V8 marks in steps on the main thread, never beside it', () => {
    const collections = markCompacts(false);
    expect(collections.length).toBeGreaterThanOrEqual(3);
    expect(collections.map(({ tasksWhileRunning }) => tasksWhileRunning)).toEqual(collections.map(() => 0));
    expect(collections.every(({ incrementalSteps }) => incrementalSteps > 0)).toBe(true);
  });

  it('with API_CONCURRENT_MARKING=true, V8 marks on background threads while JavaScript runs, as by default', () => {
    const collections = markCompacts(true);
    expect(collections.length).toBeGreaterThanOrEqual(3);
    expect(collections.some(({ tasksWhileRunning }) => tasksWhileRunning > 0)).toBe(true);
  });

  it('with API_PRETENURING=false (the default), V8 weighs no allocation site and sends none to the old generation, however long its objects live', () => {
    expect(pretenuringDecisions(false)).toEqual({ weighed: 0, toOld: 0 });
  });

  it('with API_PRETENURING=true, V8 weighs the sites whose objects survive and sends them to the old generation, as by default', () => {
    const decisions = pretenuringDecisions(true);
    expect(decisions.weighed).toBeGreaterThan(0);
    expect(decisions.toOld).toBeGreaterThan(0);
  });
});

/**
 * Runs the built setting in a process that keeps every object two allocation sites make, and
 * reads V8's trace of its pretenuring: how many times it weighed a site, and how many of those
 * ended with the site's objects to be allocated in the old generation (`=> tenure`).
 */
function pretenuringDecisions(pretenuring: boolean): { weighed: number; toOld: number } {
  const script = `
    require(${JSON.stringify(settings)}).applyGcSettings({ concurrentMarking: true, pretenuring: ${pretenuring} });
    const kept = [];
    function make(i) { return { i, pair: [i, i + 1] }; }
    for (let i = 0; i < 2000000; i += 1) kept.push(make(i));`;
  const result = spawnSync(process.execPath, ['--trace-pretenuring-statistics', '-e', script], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  const sites = result.stdout.split('\n').filter((line) => /pretenuring: AllocationSite/.test(line));
  return {
    weighed: sites.length,
    toOld: sites.filter((line) => /=> tenure$/.test(line)).length,
  };
}
