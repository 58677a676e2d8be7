// The virtual clock: events in time order, cancel and reschedule, the early-stop hook, and
// snapshots by event name.
import { describe, expect, it } from 'vitest';
import { Clock } from '../../workers/machine/clock';
import type { TimerEvent } from '../../workers/devices/device';

function event(name: string, log: string[]): TimerEvent {
  return { name, fire: (now) => log.push(`${name}@${now}`) };
}

describe('clock', () => {
  it('fires due events earliest first, ties in registration order', () => {
    const log: string[] = [];
    const c = new Clock();
    const a = event('a', log), b = event('b', log), d = event('d', log);
    c.register(a); c.register(b); c.register(d);
    c.schedule(b, 100);
    c.schedule(d, 50);
    c.schedule(a, 100);
    expect(c.nextAt).toBe(50);
    c.source.cycles = 99;
    expect(c.untilNext()).toBe(0);
    c.runDue();
    expect(log).toEqual(['d@99']);
    expect(c.untilNext()).toBe(1);
    c.source.cycles = 100;
    c.runDue();
    expect(log).toEqual(['d@99', 'a@100', 'b@100']);
    expect(c.nextAt).toBe(Infinity);
  });

  it('moves and cancels events', () => {
    const log: string[] = [];
    const c = new Clock();
    const a = event('a', log);
    c.schedule(a, 10);
    c.schedule(a, 30);
    expect(c.nextAt).toBe(30);
    c.cancel(a);
    expect(c.scheduledAt(a)).toBe(Infinity);
    c.source.cycles = 100;
    expect(c.runDue()).toBe(0);
  });

  it('lets an event reschedule itself while firing', () => {
    const c = new Clock();
    const times: number[] = [];
    const tick: TimerEvent = { name: 'tick', fire: (now) => { times.push(now); c.schedule(tick, now + 10); } };
    c.schedule(tick, 10);
    for (let t = 0; t <= 50; t++) {
      c.source.cycles = t;
      c.runDue();
    }
    expect(times).toEqual([10, 20, 30, 40, 50]);
  });

  it('calls onEarlier only for an event before the end of the run in progress', () => {
    const c = new Clock();
    let calls = 0;
    c.onEarlier = () => calls++;
    const a = event('a', []);
    c.schedule(a, 5); // no run in progress
    c.horizon = 1000;
    c.schedule(a, 2000);
    c.schedule(a, 500);
    expect(calls).toBe(1);
  });

  it('snapshots by name and refuses unknown names', () => {
    const c = new Clock();
    const a = event('a', []), b = event('b', []);
    c.register(a); c.register(b);
    c.schedule(b, 77);
    const s = JSON.parse(JSON.stringify(c.snapshot()));
    const d = new Clock();
    const a2 = event('a', []), b2 = event('b', []);
    d.register(a2); d.register(b2);
    d.restore(s);
    expect(d.scheduledAt(b2)).toBe(77);
    expect(d.scheduledAt(a2)).toBe(Infinity);
    expect(() => new Clock().restore(s)).toThrow(/no event named "a"/);
    expect(() => c.register(event('a', []))).toThrow(/two clock events/);
  });
});
