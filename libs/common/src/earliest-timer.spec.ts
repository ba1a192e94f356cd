import { EarliestTimer } from './earliest-timer';

describe('EarliestTimer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires once, at the earliest time asked for, and can be asked again after', () => {
    const fire = jest.fn();
    const timer = new EarliestTimer(fire);
    timer.within(100);
    timer.within(300);
    timer.within(50);
    expect(timer.pending).toBe(true);
    jest.advanceTimersByTime(49);
    expect(fire).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    expect(timer.pending).toBe(false);
    jest.advanceTimersByTime(1000);
    expect(fire).toHaveBeenCalledTimes(1);
    timer.within(10);
    jest.advanceTimersByTime(10);
    expect(fire).toHaveBeenCalledTimes(2);
  });

  it('fires nothing once cancelled', () => {
    const fire = jest.fn();
    const timer = new EarliestTimer(fire);
    timer.within(10);
    timer.cancel();
    jest.advanceTimersByTime(100);
    expect(fire).not.toHaveBeenCalled();
    expect(timer.pending).toBe(false);
  });
});
