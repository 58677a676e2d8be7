// The page object for the lab: locators by data-testid, and the typed test hook
// (window.__lab, src/testhook.ts) for reaching a machine state in virtual time.
import { expect, type Page } from '@playwright/test';
import type { LabTestHook } from '../src/testhook';

type HookCall<K extends keyof LabTestHook> = LabTestHook[K] extends (...a: infer A) => infer R ? { args: A; result: Awaited<R> } : never;

export class LabPage {
  constructor(readonly page: Page) {}

  /**
   * Opens the lab and waits until a guest is loaded. Each test has a fresh context, so
   * localStorage starts empty and the page boots its default guest, the teaching kernel.
   */
  async open(guest = 'demo'): Promise<void> {
    await this.page.goto('/');
    await this.page.waitForFunction(() => window.__lab !== undefined);
    await this.hook('ready');
    if (guest !== 'kernel') await this.hook('boot', guest);
    await expect(this.page.getByTestId('run-state')).toHaveText('paused');
  }

  /** Calls a method of window.__lab in the page. */
  async hook<K extends keyof LabTestHook>(name: K, ...args: HookCall<K>['args']): Promise<HookCall<K>['result']> {
    return this.page.evaluate(
      ([n, a]) => (window.__lab as any)[n](...a),
      [name, args] as const,
    ) as Promise<HookCall<K>['result']>;
  }

  testid(id: string) {
    return this.page.getByTestId(id);
  }

  /** The text xterm shows (its rows). */
  async terminalText(): Promise<string> {
    return this.page.locator('.xterm-rows').innerText();
  }
}
