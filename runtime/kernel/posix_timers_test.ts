import assert from "node:assert/strict";
import { PosixTimers, SIGEV_NONE, SIGEV_SIGNAL } from "./posix_timers.ts";

/** Timers on a clock the test moves by hand. */
function fixture() {
  const clock = { ms: 1000 };
  return { clock, timers: new PosixTimers(() => clock.ms) };
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

Deno.test("posix timers: a periodic timer re-arms and counts missed periods as overruns", () => {
  const { clock, timers } = fixture();
  const t = timers.create(1, SIGEV_SIGNAL, 34, 5n, 0);
  t.due = 1010;
  t.interval = 10;
  assert.equal(timers.nextAlarm(), 10);
  assert.deepEqual(timers.expire(() => false), [], "nothing is due before its time");
  clock.ms = 1045; // due at 1010; 1020, 1030 and 1040 were missed
  const due = timers.expire(() => false);
  assert.deepEqual(due, [t]);
  assert.deepEqual(t.info, { code: -2, pid: 0, uid: 3, value: 5n });
  assert.equal(t.due, 1050);
  assert.equal(timers.nextAlarm(), 5);
});

Deno.test("posix timers: an expiry while the signal is still queued is an overrun", () => {
  const { clock, timers } = fixture();
  const t = timers.create(1, SIGEV_SIGNAL, 34, 0n, 0);
  t.due = 1001;
  t.interval = 1;
  clock.ms = 1001;
  const first = timers.expire(() => false)[0].info!;
  clock.ms = 1002;
  assert.deepEqual(timers.expire(() => true), [], "no second signal is queued");
  assert.equal(first.uid, 1, "the queued signal's si_overrun grew");
  clock.ms = 1003;
  const next = timers.expire(() => false);
  assert.equal(next.length, 1);
  assert.notEqual(next[0].info, first, "once delivered, the next expiry queues a new signal");
  assert.equal(t.overrunDelivered, 1, "timer_getoverrun's value for the delivered one");
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
  assert.deepEqual(timers.expire(() => false), [once]);
  assert.equal(once.due, Infinity);
  assert.equal(timers.nextAlarm(), Infinity);
  timers.catchUp(quiet);
  assert.equal(quiet.due, 1010);
});
