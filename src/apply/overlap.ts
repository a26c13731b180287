/**
 * Zero-downtime rollouts: a service that says `rollout: {strategy: overlap, slots, proxy}` in its
 * manifest (src/render/rollout-config.ts) has two slots per node, e.g. blue and green, each its
 * own unit (`<env>_<svc>_<host>.<slot>.service`, src/render/names.ts) rendered with the slot's
 * `.slot` and `.slotPort`. They run side by side on one host; a proxy (src/proxy) in front sends
 * traffic to one of them.
 *
 * WHICH SLOT SERVES: the proxy first, unit states as a fallback. The plan (diff, check, which read
 * no proxy) takes the node's active slot unit as the live one (the first active, else the first
 * with a file, else the first slot), compares it with the tree and carries the other, idle slot.
 * An update or rollback then asks each node's proxy (liveSlotsByProxy): when both slots run and
 * the proxy takes connections on the one the plan took as idle, the roles are turned around. Just
 * before changing a node, the rollout asks again: a proxy that sends traffic to the slot about to
 * be written refuses the node (nothing changed).
 *
 * STEPS (the item's main unit is the new slot, `to`; `other` is the old one):
 *   hooks-early -> write (to's file; its old bytes kept as a revision) -> reload ->
 *   start-new (to's proxy server to maint, then start to) -> wait-active -> health ->
 *   switch (to: ready, then other: drain; no moment without a ready server) ->
 *   drain (until other's sessions reach 0, or drainTimeout) -> stop-old (other: maint, stop it;
 *   its file stays, so a rollback is start + health + switch back) -> hooks-late -> done
 * A node with no running slot (the first update) skips drain and stop-old; its switch puts the
 * other slot's server in maint.
 *
 * FAILURE before the switch (write, start, health, an interrupt): the new slot is stopped and
 * its file put back; the old slot never stopped serving. A failed switch puts the proxy back
 * (other: ready, to: maint) first. After the switch the new version serves: a stop (Ctrl-C,
 * SIGTERM, lock lost) cuts the drain short and still stops the old slot, so exactly one slot
 * serves in every case; a failure there (the old unit will not stop) is reported, not undone.
 */
import { formatDuration } from '../durations';
import { mapLimit } from '../parallel';
import { UnitChange } from '../plan/diff';
import { otherSlotChange } from '../plan/build';
import { STARTED } from './audit';
import { SlotTarget, TrafficProxy } from '../proxy/types';
import { Clock } from './types';
import { describeDetail, failureDetail, RolloutDeps, RolloutItem, RolloutOptions, SlotRef, StepError, UnitFailure, unitSteps } from './rollout';

export async function updateSlots(
  item: RolloutItem,
  deps: RolloutDeps,
  opts: RolloutOptions,
  signal: AbortSignal,
  auditFailures: string[],
): Promise<UnitFailure | undefined> {
  const { driver, clock } = deps;
  const ov = item.overlap!;
  const f = item.files[0];
  if (!deps.slots) throw new Error(`${item.id}: a slot rollout needs a proxy`);
  const { proxy, drainTimeoutMs } = deps.slots;
  const { ev, step, audit } = unitSteps(item, deps, signal, auditFailures);
  const target = (r: SlotRef): SlotTarget => ({ machine: item.machine, hostname: ov.hostname, slot: r.slot, port: r.port });
  const written: { previous: string | null; revision?: string }[] = [];
  let audited = false;
  let started = false;
  let switching = false;

  try {
    if (deps.hooks) await step('hooks-early', () => deps.hooks!.early(item));
    if (signal.aborted) throw new StepError('write', 'interrupted');
    await audit(STARTED);
    audited = true;
    await step('write', async () => {
      await checkProxy(proxy, item);
      if (!f.changed) return;
      const { revision } = await driver.install(item.machine, f.unit, f.desired, { keepRevision: f.fromRevision === undefined, secret: f.secret });
      written.push({ previous: f.previous, revision });
    });
    if (written.length) await step('reload', () => driver.reload(item.machine));
    const deadline = clock.now() + opts.timeoutMs;
    const ticket = await step('start-new', async () => {
      // No traffic to the new slot before its health gate, whatever the proxy's config says.
      await proxy.setState(target(ov.to), 'maint');
      started = true;
      return driver.beginStart(item.machine, ov.to.unit);
    });
    await step('wait-active', () =>
      driver.waitUp(item.machine, ticket, { deadline, timeoutMs: opts.timeoutMs, settleMs: opts.settleMs, pollMs: opts.pollMs, clock, signal }),
    );
    if (deps.health) {
      await step('health', async () => {
        const r = await deps.health!(item, signal);
        if (!r.ok) throw new StepError('health', r.message ?? 'health check failed');
        return r;
      });
    }
    await step('switch', async () => {
      switching = true;
      // Ready first, then drain: there is never a moment without a server taking connections.
      await proxy.setState(target(ov.to), 'ready');
      await proxy.setState(target(ov.other), ov.otherServing ? 'drain' : 'maint');
    });
  } catch (e) {
    const failedStep = e instanceof StepError ? e.step : 'write';
    const message = e instanceof Error ? e.message : String(e);
    const what = message === 'interrupted' ? `interrupted at ${failedStep}` : `failed at ${failedStep}`;
    if (!written.length && !started) {
      if (audited) await audit(what);
      return { unit: item.main, machine: item.machine, step: failedStep, message, restored: true };
    }
    const detail = message !== 'interrupted' && (failedStep === 'wait-active' || failedStep === 'health') ? await failureDetail(driver, item) : undefined;
    const restored = await restoreSlots(item, deps, proxy, written, { switching, started });
    await audit(restored ? `${what}, restored` : `${what}, RESTORE FAILED`);
    return { unit: item.main, machine: item.machine, step: failedStep, message: message + describeDetail(detail), restored, detail };
  }

  // Switched: the new version serves. What follows finishes the move even when stopped.
  const late = { interruptible: false };
  try {
    if (ov.otherServing) {
      await step('drain', () => drain(proxy, target(ov.other), { timeoutMs: drainTimeoutMs, pollMs: opts.pollMs, clock, signal }), late);
      await step(
        'stop-old',
        async () => {
          await proxy.setState(target(ov.other), 'maint');
          // Disabled too: after a reboot only the slot the proxy serves comes back.
          await driver.stop(item.machine, [ov.other.unit], { disable: true });
        },
        late,
      );
    }
    if (deps.hooks) await step('hooks-late', () => deps.hooks!.late(item), late);
    for (const x of item.files) if (x.fromRevision !== undefined) await driver.dropRevision(item.machine, x.unit, x.fromRevision);
    ev('done', 'ok');
    await audit('ok');
    return undefined;
  } catch (e) {
    const failedStep = e instanceof StepError ? e.step : 'stop-old';
    const message = `${e instanceof Error ? e.message : String(e)} (the new version serves; ${ov.other.unit} is out of the proxy)`;
    await audit(`failed at ${failedStep}, switched`);
    return { unit: item.main, machine: item.machine, step: failedStep, message, restored: false };
  }
}

/**
 * The plan's slot changes with the proxy's word on which slot is live: when both slots of a node
 * run and the proxy has only the plan's idle one ready, that one is the live slot. A proxy that
 * cannot be asked leaves the plan's choice (the rollout's own check then refuses the node).
 */
export async function liveSlotsByProxy(changes: UnitChange[], proxy: TrafficProxy): Promise<UnitChange[]> {
  const answers = await mapLimit(changes, 20, async (c) => {
    const o = c.slot?.other;
    if (!o || c.kind === 'orphan' || o.live === null || o.state?.activeState !== 'active' || c.state?.activeState !== 'active') return c;
    const s = await proxy.servers(c.machine, c.slot!.hostname, [c.slot!.name, o.name]);
    return s.get(o.name)!.state === 'ready' && s.get(c.slot!.name)!.state !== 'ready' ? otherSlotChange(c) : c;
  });
  return answers.map((a, i) => (a.ok ? a.value : changes[i]));
}

/** The proxy must not send traffic to the slot about to be written (the plan read unit states only). */
async function checkProxy(proxy: TrafficProxy, item: RolloutItem): Promise<void> {
  const ov = item.overlap!;
  const servers = await proxy.servers(item.machine, ov.hostname, [ov.to.slot, ov.other.slot]);
  const to = servers.get(ov.to.slot)!;
  const other = servers.get(ov.other.slot)!;
  if (ov.otherServing && to.state === 'ready' && other.state !== 'ready') {
    throw new Error(
      `${proxy.describe()} sends traffic to slot ${ov.to.slot} (${to.status}), but ${ov.to.unit} is not the running slot: nothing changed (fix the proxy or start the slot it serves)`,
    );
  }
}

/** Waits until the old slot has no session left, or drainTimeout, or a stop; says what it cut. */
async function drain(
  proxy: TrafficProxy,
  t: SlotTarget,
  o: { timeoutMs: number; pollMs: number; clock: Clock; signal: AbortSignal },
): Promise<{ note?: string }> {
  const deadline = o.clock.now() + o.timeoutMs;
  for (;;) {
    const s = (await proxy.servers(t.machine, t.hostname, [t.slot])).get(t.slot)!;
    if (s.sessions === 0) return {};
    if (o.signal.aborted) return { note: `interrupted: ${s.sessions} session(s) cut` };
    const left = deadline - o.clock.now();
    if (left <= 0) return { note: `drainTimeout ${formatDuration(o.timeoutMs)} reached: ${s.sessions} session(s) cut` };
    try {
      await o.clock.sleep(Math.min(o.pollMs, left), o.signal);
    } catch {
      // stopped: the next round says so
    }
  }
}

/**
 * Before the switch took: the proxy back as it was (the old slot ready, the new one in maint),
 * the new slot stopped, its previous bytes back. The old slot was never touched.
 */
async function restoreSlots(
  item: RolloutItem,
  deps: RolloutDeps,
  proxy: TrafficProxy,
  written: { previous: string | null; revision?: string }[],
  state: { switching: boolean; started: boolean },
): Promise<boolean> {
  const { driver, clock, reporter } = deps;
  const ov = item.overlap!;
  const t = (r: SlotRef): SlotTarget => ({ machine: item.machine, hostname: ov.hostname, slot: r.slot, port: r.port });
  const t0 = clock.now();
  reporter.event({ time: t0, unit: item.main, host: item.machine, step: 'restore', result: 'started' });
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  if (state.switching) {
    if (ov.otherServing) await attempt('proxy back to the old slot', () => proxy.setState(t(ov.other), 'ready'));
    await attempt('new slot out of the proxy', () => proxy.setState(t(ov.to), 'maint'));
  }
  if (state.started) await attempt('stop the new slot', () => driver.stop(item.machine, [ov.to.unit], { quiet: true, disable: true }));
  const w = written[0];
  if (w) {
    await attempt('put the file back', async () => {
      if (w.previous === null) await driver.uninstall(item.machine, [ov.to.unit]);
      else await driver.install(item.machine, ov.to.unit, w.previous, { keepRevision: false, dropRevision: w.revision, secret: item.files[0].secret });
      await driver.reload(item.machine);
    });
  }
  await attempt('reset-failed', () => driver.resetFailed(item.machine, [ov.to.unit]));
  const durationMs = clock.now() - t0;
  if (problems.length === 0) {
    reporter.event({ time: clock.now(), unit: item.main, host: item.machine, step: 'restore', result: 'restored', durationMs });
    return true;
  }
  reporter.event({
    time: clock.now(),
    unit: item.main,
    host: item.machine,
    step: 'restore',
    result: 'restore-failed',
    durationMs,
    message: problems.join('; '),
  });
  return false;
}
