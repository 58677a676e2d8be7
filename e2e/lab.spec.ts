// The lab in Chromium: boot, console, stepping through an interrupt, breakpoints, the
// page-table view, a crashing guest, and screenshot baselines. The machine's clock is
// virtual, so the test hook (window.__lab) reaches the same state on every run.
import { expect, test } from '@playwright/test';
import { LabPage } from './labpage';

test.describe('the lab', () => {
  test('boots the demo guest and shows its console output', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open();
    await expect(lab.testid('mode')).toHaveValue('native');
    await lab.hook('runUntilConsole', 'proc 1 round 0');
    await expect.poll(() => lab.terminalText()).toContain('demo kernel: two processes');
    expect(await lab.terminalText()).toContain('proc 1 round 0');
    expect(await lab.hook('console')).toContain('proc 0 round 0');
  });

  test('runs and pauses with F5, and echoes typed keys', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open();
    await page.keyboard.press('F5');
    await expect(lab.testid('run-state')).toHaveText('running');
    await expect.poll(() => lab.terminalText(), { timeout: 30_000 }).toContain('proc 0 round 0');
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.press('F5'); // the shortcut wins over the terminal
    await expect(lab.testid('run-state')).toHaveText('paused');
    // keys typed while paused wait in the UART; the guest echoes them when it runs
    await page.keyboard.type('hi!');
    await lab.hook('runCycles', 2_000_000);
    expect(await lab.hook('console')).toContain('hi!');
    await expect.poll(() => lab.terminalText()).toContain('hi!');
  });

  test('steps into the timer interrupt and through its handler', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open();
    await lab.hook('runUntilConsole', 'proc 0 round 0');
    await lab.hook('runUntilEvent', ['interrupt']);
    await expect(lab.testid('cpl')).toHaveText('CPL 0');
    await expect(lab.testid('source').locator('.line.current')).toContainText('push dword 0');
    await expect(lab.testid('trace-list')).toContainText('vector 0x20');
    const eip = (await lab.hook('state')).eip;
    await page.keyboard.press('F11');
    await lab.hook('settle');
    expect((await lab.hook('state')).eip).toBe(eip + 2); // push imm8 is two bytes
    await expect(lab.testid('reg-esp')).toHaveClass(/changed/);
    await page.keyboard.press('F11');
    await page.keyboard.press('F11');
    await lab.hook('settle');
    await expect(lab.testid('source').locator('.line.current')).toContainText('pushad');
    // run to the iret that ends the handler: the next event after it is back in ring 3
    await lab.hook('runUntilEvent', ['iret']);
    await lab.hook('step', 1);
    await expect(lab.testid('cpl')).toHaveText('CPL 3');
  });

  test('stops at a breakpoint set in the source gutter, and remembers it across a reload', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open();
    const line = lab.testid('source').locator('.line', { hasText: 'inc dword [ticks]' });
    await line.locator('.gutter').click();
    await expect(line.locator('.gutter')).toHaveClass(/bp/);
    await page.keyboard.press('F5');
    await expect(lab.testid('run-state')).toHaveText('paused', { timeout: 30_000 });
    await lab.hook('settle');
    await expect(lab.testid('status')).toContainText('Breakpoint');
    await expect(lab.testid('source').locator('.line.current')).toContainText('inc dword [ticks]');
    await page.reload();
    await page.waitForFunction(() => window.__lab !== undefined);
    await lab.hook('ready');
    await expect(lab.testid('source').locator('.line', { hasText: 'inc dword [ticks]' }).locator('.gutter')).toHaveClass(/bp/);
  });

  test('shows the page walk, the mappings and the page grid', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open();
    await lab.hook('runUntilConsole', 'proc 1 round 1');
    await lab.testid('tab-pages').click();
    await lab.testid('walk-address').fill('00400000');
    await lab.testid('walk-address').press('Enter');
    await expect(lab.testid('walk')).toContainText('Mapped to frame');
    await expect(lab.testid('ranges')).toContainText('rw user');
    await expect(lab.testid('pages')).toContainText('space 1');
    await lab.testid('walk-address').fill('00900000');
    await lab.testid('walk-address').press('Enter');
    await expect(lab.testid('walk')).toContainText('not present');
  });

  test('a triple fault shows a report with the last events, and reset recovers', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open('crash');
    await page.keyboard.press('F5');
    await expect(lab.testid('crash')).toBeVisible({ timeout: 30_000 });
    await expect(lab.testid('crash')).toContainText('Triple fault');
    await expect(lab.testid('crash')).toContainText('exception');
    await expect(lab.testid('run-state')).toHaveText('stopped');
    await lab.testid('crash-reset').click();
    await expect(lab.testid('crash')).toBeHidden();
    await expect(lab.testid('run-state')).toHaveText('paused');
  });

  test('boots the teaching kernel to its shell and runs a program', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open('kernel');
    await lab.hook('runUntilConsole', '$ ');
    await lab.hook('type', 'hello\r');
    await lab.hook('runUntilConsole', 'hello, world');
    await expect.poll(() => lab.terminalText()).toContain('hello, world from user mode');
    await lab.hook('runUntilEvent', ['syscall']);
    await expect(lab.testid('source-file')).toHaveValue('7'); // guests/kernel/trap.inc, where int 0x80 lands
    await expect(lab.testid('source').locator('.line.current')).toBeVisible();
  });

  test('shows help with ?', async ({ page }) => {
    const lab = new LabPage(page);
    await lab.open();
    await page.locator('body').press('?');
    await expect(lab.testid('help')).toContainText('Step over');
  });
});

test.describe('screenshots', () => {
  async function demoAtInterrupt(lab: LabPage) {
    await lab.open();
    await lab.hook('runUntilConsole', 'proc 1 round 1');
    await lab.hook('runUntilEvent', ['interrupt']);
    await lab.hook('settle');
  }

  test('whole layout', async ({ page }) => {
    const lab = new LabPage(page);
    await demoAtInterrupt(lab);
    await expect(page).toHaveScreenshot('layout.png');
  });

  test('trace', async ({ page }) => {
    const lab = new LabPage(page);
    await demoAtInterrupt(lab);
    await expect(lab.testid('trace')).toHaveScreenshot('trace.png');
  });

  test('page-table grid', async ({ page }) => {
    const lab = new LabPage(page);
    await demoAtInterrupt(lab);
    await lab.testid('tab-pages').click();
    await expect(lab.testid('page-grid')).toHaveScreenshot('page-grid.png');
  });
});
