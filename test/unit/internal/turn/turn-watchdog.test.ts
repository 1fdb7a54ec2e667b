import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { TurnWatchdog, type WatchdogExpiry } from "../../../../internal/turn/turn-watchdog.js";

describe("TurnWatchdog", () => {
  let fired: WatchdogExpiry[];

  beforeEach(() => {
    vi.useFakeTimers();
    fired = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function watchdog(bounds: { turnMs?: number; idleMs?: number; firstEventMs?: number }) {
    const dog = new TurnWatchdog({
      turnMs: bounds.turnMs ?? 60_000,
      idleMs: bounds.idleMs ?? 0,
      firstEventMs: bounds.firstEventMs ?? 0,
      onExpire: (expiry) => fired.push(expiry),
      now: () => Date.now(),
    });
    dog.start();
    return dog;
  }

  it("fires the first-event deadline when codex prints nothing", () => {
    watchdog({ firstEventMs: 2000, idleMs: 500 });
    // Before the first event only the first-event deadline applies, even though idle is shorter.
    vi.advanceTimersByTime(1999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ bound: "first_event", code: "TURN_FIRST_EVENT_TIMEOUT" });
    expect(fired[0]?.message).toContain("within 2 s");
  });

  it("switches to the idle bound after the first event and resets it on progress", () => {
    const dog = watchdog({ firstEventMs: 5000, idleMs: 1000 });
    vi.advanceTimersByTime(300);
    dog.progress();
    vi.advanceTimersByTime(900);
    dog.progress();
    vi.advanceTimersByTime(900);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(fired.map((expiry) => expiry.code)).toEqual(["TURN_IDLE_TIMEOUT"]);
  });

  it("keeps its timer through progress and pauses instead of re-arming it for every event", () => {
    const dog = watchdog({ idleMs: 1000 });
    const armed = vi.spyOn(globalThis, "setTimeout");
    for (let event = 0; event < 1000; event += 1) {
      dog.pause();
      dog.resume();
      dog.progress();
    }
    expect(armed.mock.calls.length).toBeLessThanOrEqual(1);
    // Still exact: the timer due at 1000 ms re-arms for the rest, then fires 1000 ms after the
    // last progress.
    vi.advanceTimersByTime(400);
    dog.progress();
    vi.advanceTimersByTime(999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired.map((expiry) => expiry.bound)).toEqual(["idle"]);
  });

  it("applies the idle bound from the start when the first-event deadline is off", () => {
    watchdog({ idleMs: 700 });
    vi.advanceTimersByTime(700);
    expect(fired.map((expiry) => expiry.bound)).toEqual(["idle"]);
  });

  it("does not count time while the consumer holds an event", () => {
    const dog = watchdog({ idleMs: 1000 });
    dog.progress();
    vi.advanceTimersByTime(600);
    dog.pause();
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([]);
    dog.resume();
    vi.advanceTimersByTime(399);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired.map((expiry) => expiry.bound)).toEqual(["idle"]);
  });

  it("keeps the wall clock running while paused and after the turn settled", () => {
    const dog = watchdog({ turnMs: 3000, idleMs: 1000 });
    dog.progress();
    dog.settle();
    vi.advanceTimersByTime(2000);
    expect(fired).toEqual([]);
    dog.pause();
    vi.advanceTimersByTime(1000);
    expect(fired.map((expiry) => expiry.code)).toEqual(["TURN_TIMEOUT"]);
    expect(fired[0]?.message).toContain("after 3 s");
  });

  it("fires at most once and never after stop", () => {
    const dog = watchdog({ turnMs: 1000, idleMs: 500 });
    vi.advanceTimersByTime(5000);
    expect(fired).toHaveLength(1);
    const stopped = watchdog({ turnMs: 1000, idleMs: 500 });
    stopped.stop();
    vi.advanceTimersByTime(5000);
    expect(fired).toHaveLength(1);
    expect(dog.fired).toBe(true);
    expect(stopped.fired).toBe(false);
  });

  it("restarts the first-event deadline for a second codex process", () => {
    const dog = watchdog({ firstEventMs: 1000, idleMs: 10_000 });
    vi.advanceTimersByTime(800);
    dog.restartAttempt();
    vi.advanceTimersByTime(800);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(fired.map((expiry) => expiry.bound)).toEqual(["first_event"]);
  });

  it("treats 0 as no bound", () => {
    watchdog({ turnMs: 10 ** 9, idleMs: 0, firstEventMs: 0 });
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(fired).toEqual([]);
  });
});
