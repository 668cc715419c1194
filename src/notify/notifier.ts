/**
 * Sends events to an environment's webhooks without ever holding up the command: `emit` queues a
 * post per subscribed receiver and returns at once (each receiver gets its events in order);
 * `settle` at the end waits for what is still in flight at most one receiver timeout, then gives
 * up on the rest. What could not be delivered comes back as warnings for the report.
 */
import type { NotifySettings } from '../config/sections/notify.ts';
import { registerSecret } from '../util/redact.ts';
import { messageBody, type NotifyEvent, type NotifyEventName } from './events.ts';
import { postJson, type PostResult } from './webhook.ts';

export interface Delivery {
  receiver: string;
  event: NotifyEventName;
  ok: boolean;
  attempts: number;
  error?: string;
}

type Base = Pick<NotifyEvent, 'env' | 'app' | 'by' | 'run'>;
type Fields = Omit<NotifyEvent, keyof Base | 'event' | 'at'> & { at?: string };

interface Receiver {
  name: string;
  settings: NotifySettings;
  url?: string;
  chain: Promise<void>;
  /** Aborted when pier stops waiting for this receiver. */
  stop: AbortController;
}

export class Notifier {
  readonly deliveries: Delivery[] = [];
  /** How long the last `settle` waited for receivers (ms): what notifications cost the command. */
  waitedMs = 0;
  private readonly receivers: Receiver[];

  constructor(settings: readonly NotifySettings[], private readonly base: Base, env: NodeJS.ProcessEnv = process.env) {
    this.receivers = settings.map((s, i) => {
      const url = s.url ?? (s.urlEnv ? env[s.urlEnv] : undefined);
      // The URL is a credential: it must never be printed, whatever prints it.
      registerSecret(url);
      return { name: s.name ?? `#${i + 1} (${s.format})`, settings: s, url, chain: Promise.resolve(), stop: new AbortController() };
    });
  }

  get active(): boolean {
    return this.receivers.length > 0;
  }

  /** Queue `event` for every receiver that wants it; never throws, never waits. */
  emit(event: NotifyEventName, fields: Fields): void {
    const e: NotifyEvent = { ...this.base, event, at: new Date().toISOString(), ...fields };
    for (const r of this.receivers) {
      if (!r.settings.events.includes(event)) continue;
      r.chain = r.chain.then(async () => {
        const res: PostResult = r.url
          ? await postJson(r.url, messageBody(e, r.settings.format), { timeoutMs: r.settings.timeoutSeconds * 1000, signal: r.stop.signal })
          : { ok: false, attempts: 0, error: `${r.settings.urlEnv} is not set` };
        const stopped = !res.ok && r.stop.signal.aborted;
        this.deliveries.push({ receiver: r.name, event, ok: res.ok, attempts: res.attempts, ...(res.ok ? {} : { error: stopped ? 'not delivered: pier stopped waiting for the receiver' : res.error }) });
      });
    }
  }

  /**
   * Wait for each receiver's queued posts at most its own timeout (a hanging receiver costs the
   * command no more than that, retry included); what is still queued then is abandoned.
   */
  async settle(): Promise<Delivery[]> {
    if (!this.receivers.length) return this.deliveries;
    const t0 = Date.now();
    await Promise.all(
      this.receivers.map(async (r) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([r.chain, new Promise<void>((resolve) => (timer = setTimeout(resolve, r.settings.timeoutSeconds * 1000)))]);
        clearTimeout(timer);
        r.stop.abort();
        await r.chain; // its post in flight now ends at once (aborted)
      }),
    );
    this.waitedMs = Date.now() - t0;
    return this.deliveries;
  }

  /** Failed deliveries as report warnings (no URL in them). */
  warnings(): string[] {
    return this.deliveries.filter((d) => !d.ok).map((d) => `notification ${d.event} to ${d.receiver} not delivered: ${d.error}`);
  }
}

/** The notifier of an environment's `notify:` receivers for one command run. */
export function notifierFor(target: { envName: string; app: string; by: string; config?: { env?: { notify?: NotifySettings[] } } }, run: string): Notifier {
  return new Notifier(target.config?.env?.notify ?? [], { env: target.envName, app: target.app, by: target.by, run });
}
