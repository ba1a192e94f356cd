import { RESEARCH_STATUSES, ResearchStatus, canTransition, isTerminal, statusesAllowing } from './research-status';

const { Pending, Running, AwaitingReview, Completed, Failed, Cancelled } = ResearchStatus;

/** Every transition the service makes, and nothing else: any pair not listed is refused. */
const ALLOWED: readonly [ResearchStatus, ResearchStatus][] = [
  [Pending, Running],
  [Pending, Cancelled],
  [Running, Running],
  [Running, Pending],
  [Running, AwaitingReview],
  [Running, Completed],
  [Running, Failed],
  [Running, Cancelled],
  [AwaitingReview, Pending],
  [AwaitingReview, Cancelled],
  [Failed, Pending],
];

describe('research status', () => {
  it('allows exactly the listed transitions and refuses every other pair', () => {
    const allowed = new Set(ALLOWED.map(([from, to]) => `${from} -> ${to}`));
    for (const from of RESEARCH_STATUSES) {
      for (const to of RESEARCH_STATUSES) {
        expect({ transition: `${from} -> ${to}`, allowed: canTransition(from, to) }).toEqual({
          transition: `${from} -> ${to}`,
          allowed: allowed.has(`${from} -> ${to}`),
        });
      }
    }
  });

  it('has three terminal states; only a failed one can be retried, back to pending', () => {
    const terminal = RESEARCH_STATUSES.filter(isTerminal);
    expect(terminal.sort()).toEqual(['cancelled', 'completed', 'failed']);
    for (const from of [Completed, Cancelled]) {
      for (const to of RESEARCH_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
    expect(RESEARCH_STATUSES.filter((to) => canTransition(Failed, to))).toEqual(['pending']);
    expect(statusesAllowing(Pending).sort()).toEqual(['awaiting_review', 'failed', 'running']);
  });

  it('lets a pending research start or be cancelled, nothing else', () => {
    expect(RESEARCH_STATUSES.filter((to) => canTransition(Pending, to)).sort()).toEqual(['cancelled', 'running']);
  });

  it('lets a running research finish, fail, be cancelled, wait for its plan review, go back to the queue or be taken over', () => {
    expect(RESEARCH_STATUSES.filter((to) => canTransition(Running, to)).sort()).toEqual(
      ['awaiting_review', 'cancelled', 'completed', 'failed', 'pending', 'running'].sort(),
    );
  });

  it('lets a research awaiting review go back to the queue with its plan, or be cancelled; it is not terminal', () => {
    expect(isTerminal(AwaitingReview)).toBe(false);
    expect(RESEARCH_STATUSES.filter((to) => canTransition(AwaitingReview, to)).sort()).toEqual([
      'cancelled',
      'pending',
    ]);
    // No worker holds it: it is neither claimed nor finished from there.
    for (const to of [Running, Completed, Failed, AwaitingReview])
      expect(canTransition(AwaitingReview, to)).toBe(false);
    // Only a run can stop for a review.
    expect(statusesAllowing(AwaitingReview)).toEqual(['running']);
  });

  it('matches the statuses the cancel statement accepts', () => {
    expect(statusesAllowing(Cancelled).sort()).toEqual(['awaiting_review', 'pending', 'running']);
    expect(statusesAllowing(Completed)).toEqual(['running']);
  });
});
