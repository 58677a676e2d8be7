/*
 * The worker entry: one LabSession (workers/session/session.ts) exposed with comlink. This
 * file is only wiring; the logic lives in session/ so Node tests can use it without a
 * worker. Trace batches leave by transfer (their buffers move, nothing is copied).
 * The page creates this worker with
 *   new Worker(new URL('../workers/lab.worker.ts', import.meta.url), { type: 'module' })
 * and wraps it as a Remote<LabApi>.
 */

import * as Comlink from 'comlink';
import type { LabApi, MachineId, PollRequest } from './api';
import { createMachineTarget } from './session/machine-target';
import { disassembler } from './session/disasm-adapter';
import { LabSession } from './session/session';

const session = new LabSession(createMachineTarget, disassembler);

/** The session, with poll() results transferred rather than copied. */
const api: LabApi = Object.assign(Object.create(session) as LabApi, {
  poll(id: MachineId, request: PollRequest) {
    const r = session.poll(id, request);
    return Comlink.transfer(r, LabSession.transferables(r));
  },
});

// Methods live on the prototype: bind them so comlink calls reach the session.
for (const name of Object.getOwnPropertyNames(LabSession.prototype)) {
  if (name === 'constructor' || name === 'poll') continue;
  const f = (session as unknown as Record<string, unknown>)[name];
  if (typeof f === 'function') (api as unknown as Record<string, unknown>)[name] = f.bind(session);
}

Comlink.expose(api);
