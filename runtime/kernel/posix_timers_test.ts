import assert from "node:assert/strict";
import { PosixTimers, SIGEV_NONE, SIGEV_SIGNAL } from "./posix_timers.ts";

/** Timers on a clock the test moves by hand. */
function fixture() {
  const clock = { ms: 1000 };
  const timers = new PosixTimers(() => clock.ms);
  let rearms = 0;
  timers.onRearm = () => rearms++;
  return { clock, timers, rearms: () => rearms };
}

Deno.test("posix timers: ids are the lowest free ones, from 0", () => {
  const { timers } = fixture();
  const a = timers.create(1, SIGEV_SIGNAL, 34, 7n, 0);
  const b = timers.create(1, SIGEV_SIGNAL, 34, undefined, 0);
  assert.deepEqual([a.id, b.id], [0, 1]);
  assert.equal(b.value, 1n, "a NULL sigevent's value is the timer's id");
  timers.delete(0);
  assert.equal(timers.create(1, SIGEV_SIGNAL, 34, 0n, 0).id, 0);
});

Deno.test("posix timers: a queued signal holds the timer; delivery re-arms it and counts overruns", () => {
  const { clock, timers, rearms } = fixture();
  const t = timers.create(1, SIGEV_SIGNAL, 34, 5n, 0);
  t.due = 1010;
  t.interval = 10;
  assert.equal(timers.nextAlarm(), 10);
  assert.deepEqual(timers.expire(), [], "nothing is due before its time");
  clock.ms = 1012;
  assert.deepEqual(timers.expire(), [t]);
  const info = t.info!;
  assert.deepEqual({ ...info, settled: undefined }, {
    code: -2,
    pid: 0,
    uid: 0,
    value: 5n,
    settled: undefined,
  });
  assert.equal(timers.nextAlarm(), Infinity, "no alarm while its signal is queued");
  clock.ms = 1047; // 1020, 1030 and 1040 passed while the signal waited
  assert.deepEqual(timers.expire(), [], "no second signal is queued");
  assert.equal(timers.left(t), 3, "timer_gettime shows the period that runs now");
  info.settled!(true);
  assert.equal(info.uid, 3, "si_overrun counts the periods skipped");
  assert.equal(t.overrun, 3, "timer_getoverrun agrees");
  assert.equal(t.due, 1050);
  assert.equal(rearms(), 1, "the alarm is set again");
  assert.equal(timers.nextAlarm(), 3);
});

Deno.test("posix timers: a signal never queued re-arms at least a millisecond on", () => {
  const { clock, timers } = fixture();
  const t = timers.create(1, SIGEV_SIGNAL, 34, 0n, 0);
  t.due = 1000;
  t.interval = 0.000002; // 2 ns
  clock.ms = 1000.5;
  timers.expire()[0].info!.settled!(false);
  assert.ok(t.due >= 1001.5, `due ${t.due}`);
  assert.equal(t.overrun, 0, "no delivery: timer_getoverrun keeps its value");
  assert.equal(t.info, undefined);
});

Deno.test("posix timers: one-shot timers disarm; SIGEV_NONE ones send nothing but run down", () => {
  const { clock, timers } = fixture();
  const once = timers.create(0, SIGEV_SIGNAL, 14, 0n, 0);
  once.due = 1005;
  const quiet = timers.create(0, SIGEV_NONE, 0, 0n, 0);
  quiet.due = 1002;
  quiet.interval = 4;
  assert.equal(timers.nextAlarm(), 5, "SIGEV_NONE timers need no alarm");
  clock.ms = 1007;
  assert.deepEqual(timers.expire(), [once]);
  assert.equal(once.due, Infinity);
  assert.equal(timers.left(once), 0);
  assert.equal(timers.nextAlarm(), Infinity);
  assert.equal(timers.left(quiet), 3, "expiries at 1002 and 1006, the next at 1010");
  quiet.interval = 0;
  assert.equal(timers.left(quiet), 0, "an expired one-shot SIGEV_NONE timer is disarmed");
  assert.equal(quiet.due, Infinity);
});
