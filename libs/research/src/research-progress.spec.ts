import { ProgressTracker, QUEUED, finished } from './research-progress';

describe('ProgressTracker', () => {
  const started = { ...QUEUED, stage: 'planning' as const, percent: 1 };

  it('follows a deep research of two rounds stage by stage, counting what it gathers, never going back', () => {
    const tracker = new ProgressTracker(started, 2);
    const events: [string, Record<string, unknown>][] = [
      ['stage.started', { stage: 'plan' }],
      ['stage.finished', { stage: 'plan', sub_questions: 3 }],
      ['stage.started', { stage: 'search', round: 1 }],
      ['stage.finished', { stage: 'search', round: 1, sources: 4 }],
      ['stage.started', { stage: 'read', round: 1, sources: 4, already_read: 0 }],
      ['source.read', { source: 2, findings: 3 }],
      ['source.read', { source: 1, findings: 2 }],
      ['source.skipped', { source: 3, reason: 'timeout' }],
      ['source.read', { source: 4, findings: 0 }],
      ['stage.finished', { stage: 'read', round: 1, findings: 5 }],
      ['stage.started', { stage: 'gaps', round: 1 }],
      ['stage.finished', { stage: 'gaps', round: 1, open: [2], queries: ['x'] }],
      ['stage.started', { stage: 'search', round: 2 }],
      ['stage.finished', { stage: 'search', round: 2, sources: 1 }],
      ['stage.started', { stage: 'read', round: 2, sources: 1, already_read: 0 }],
      ['source.read', { source: 5, findings: 1 }],
      ['rounds.stopped', { rounds: 2, depth: 2, reason: 'depth' }],
      ['stage.started', { stage: 'write', findings: 6 }],
      ['stage.finished', { stage: 'write', sections: 2 }],
      ['stage.started', { stage: 'verify', sentences: 9 }],
      ['stage.finished', { stage: 'verify', supported: 9 }],
    ];
    const seen = events.map(([type, data]) => tracker.advance(type, data));
    const percents = seen.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(seen.map((p) => p.stage)).toEqual([
      'planning',
      'planning',
      'searching',
      'searching',
      'reading',
      'reading',
      'reading',
      'reading',
      'reading',
      'reading',
      'analysing',
      'analysing',
      'searching',
      'searching',
      'reading',
      'reading',
      'reading',
      'writing',
      'writing',
      'verifying',
      'verifying',
    ]);
    // Half-way through the rounds' share when the first round is read and analysed.
    expect(seen[11]!.percent).toBe(39);
    expect(tracker.progress).toEqual({
      stage: 'verifying',
      round: 2,
      sources_found: 5,
      sources_read: 4,
      findings: 6,
      claims: 9,
      percent: 92,
    });
    expect(finished(tracker.progress)).toMatchObject({ stage: 'done', percent: 100, findings: 6 });
  });

  it('resumes from the stored progress without going back, and ignores events it does not know', () => {
    const stored = { ...QUEUED, stage: 'reading' as const, round: 1, sources_found: 4, sources_read: 2, percent: 50 };
    const tracker = new ProgressTracker(stored, 1);
    expect(tracker.advance('search.failed', { provider: 'brave' })).toEqual(stored);
    // A resumed run records its remaining reads: the count goes on, the percent does not drop.
    const next = tracker.advance('stage.started', { stage: 'read', round: 1, sources: 2, already_read: 2 });
    expect(next.percent).toBe(50);
    expect(tracker.advance('source.read', { source: 3, findings: 1 })).toMatchObject({ sources_read: 3, findings: 1 });
    expect(tracker.progress.percent).toBeGreaterThanOrEqual(50);
  });

  it('follows the extractive engine, whose stages carry no round', () => {
    const tracker = new ProgressTracker(started, 1);
    tracker.advance('stage.started', { stage: 'search', providers: ['corpus'] });
    tracker.advance('stage.finished', { stage: 'search', documents: 3, found: 5, unreadable: 0 });
    tracker.advance('stage.started', { stage: 'read', documents: 3 });
    tracker.advance('stage.finished', { stage: 'read', passages: 7 });
    tracker.advance('stage.started', { stage: 'write' });
    const last = tracker.advance('stage.finished', { stage: 'write', findings: 5, sources: 3 });
    expect(last).toMatchObject({
      stage: 'writing',
      round: 1,
      sources_found: 3,
      sources_read: 3,
      findings: 5,
      percent: 82,
    });
  });
});
