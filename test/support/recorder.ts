/** A reporter that keeps what it is told, for assertions. */
import type { Reporter, RolloutEvent } from '../../src/apply/types';

export class Recorder implements Reporter {
  events: RolloutEvent[] = [];
  infos: string[] = [];
  plan(): void {}
  event(e: RolloutEvent): void {
    this.events.push(e);
  }
  info(m: string): void {
    this.infos.push(m);
  }
  async close(): Promise<void> {}
}
