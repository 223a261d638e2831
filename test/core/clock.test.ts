import { describe, expect, it } from 'vitest';
import { callWhenDue } from '../../core/clock.ts';

describe('callWhenDue', () => {
  it('waits out a timer that fires before the due time on the given clock', async () => {
    // A clock that still reads before the due time when the first timer fires: 0 when armed,
    // 7 at the first wake-up (early), 12 at the second.
    const readings = [0, 7, 12];
    let last = -1;
    const clock = () => (last = readings.shift() ?? 12);
    const seen = await new Promise<number>((resolve) => callWhenDue(clock, 10, () => resolve(last)));
    expect(seen).toBe(12);
    expect(readings).toEqual([]);
  });

  it('is cancelled by the function it returns', async () => {
    let called = false;
    const cancel = callWhenDue(() => performance.now(), performance.now() + 5, () => {
      called = true;
    });
    cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(called).toBe(false);
  });
});
