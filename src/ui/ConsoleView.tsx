/*
 * The serial console: an xterm.js terminal attached to the guest's COM1. Output arrives
 * in batches from the pump (controller.ts); keystrokes go to the guest with typeInput.
 * No cursor blink, so screenshots are stable.
 */

import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import { attachConsole, sendKeys } from '../controller';

export function ConsoleView() {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return;
    const term = new Terminal({
      cols: 80, rows: 24, convertEol: true, cursorBlink: false, scrollback: 2000,
      fontFamily: '"DejaVu Sans Mono", monospace', fontSize: 11,
      theme: { background: '#101418', foreground: '#d8dee4' },
    });
    term.open(host.current);
    const input = term.onData((d) => void sendKeys(d));
    attachConsole((text) => term.write(text));
    return () => {
      attachConsole(null);
      input.dispose();
      term.dispose();
    };
  }, []);
  return (
    <section className="panel console" data-testid="console">
      <h2>Console <span className="dim">COM1</span></h2>
      <div ref={host} className="term" />
    </section>
  );
}
