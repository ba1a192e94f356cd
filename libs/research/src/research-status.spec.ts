import { RESEARCH_STATUSES, ResearchStatus, canTransition, isTerminal, statusesAllowing } from './research-status';

describe('research status', () => {
  it('has three terminal states; only a failed one can be retried, back to pending', () => {
    const terminal = RESEARCH_STATUSES.filter(isTerminal);
    expect(terminal.sort()).toEqual(['cancelled', 'completed', 'failed']);
    for (const from of [ResearchStatus.Completed, ResearchStatus.Cancelled]) {
      for (const to of RESEARCH_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
    expect(RESEARCH_STATUSES.filter((to) => canTransition(ResearchStatus.Failed, to))).toEqual(['pending']);
    expect(statusesAllowing(ResearchStatus.Pending).sort()).toEqual(['failed', 'running']);
  });

  it('lets a pending research start or be cancelled, nothing else', () => {
    expect(RESEARCH_STATUSES.filter((to) => canTransition(ResearchStatus.Pending, to)).sort()).toEqual([
      'cancelled',
      'running',
    ]);
  });

  it('lets a running research finish, fail, be cancelled, go back to the queue or be taken over', () => {
    expect(RESEARCH_STATUSES.filter((to) => canTransition(ResearchStatus.Running, to)).sort()).toEqual(
      ['cancelled', 'completed', 'failed', 'pending', 'running'].sort(),
    );
  });

  it('matches the statuses the cancel statement accepts', () => {
    expect(statusesAllowing(ResearchStatus.Cancelled).sort()).toEqual(['pending', 'running']);
    expect(statusesAllowing(ResearchStatus.Completed)).toEqual(['running']);
  });
});
