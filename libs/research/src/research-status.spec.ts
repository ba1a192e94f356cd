import { RESEARCH_STATUSES, ResearchStatus, canTransition, isTerminal, statusesAllowing } from './research-status';

describe('research status', () => {
  it('has three terminal states that never change', () => {
    const terminal = RESEARCH_STATUSES.filter(isTerminal);
    expect(terminal.sort()).toEqual(['cancelled', 'completed', 'failed']);
    for (const from of terminal) {
      for (const to of RESEARCH_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
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
