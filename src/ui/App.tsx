/*
 * The page: the toolbar on top; the console and the code view side by side; below them
 * the CPU, the memory view and a tabbed panel with the page tables and the trace.
 */

import { useEffect } from 'react';
import { onKey } from '../commands';
import { useSelection, type BottomTab } from '../state/selection';
import { CodeView } from './CodeView';
import { ConsoleView } from './ConsoleView';
import { CpuView } from './CpuView';
import { CrashReport, Help } from './Dialogs';
import { Guard } from './Guard';
import { MemoryView } from './MemoryView';
import { PageTablesView } from './PageTablesView';
import { Toolbar } from './Toolbar';
import { TraceView } from './TraceView';

const TABS: [BottomTab, string][] = [['trace', 'Trace'], ['pages', 'Page tables']];

export function App() {
  const tab = useSelection((s) => s.bottomTab);
  useEffect(() => {
    // capture: the shortcuts win over the terminal, which would send F-keys to the guest
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
  return (
    <div className="app">
      <Toolbar />
      <main className="layout">
        <ConsoleView />
        <Guard name="Code" area="code"><CodeView /></Guard>
        <Guard name="CPU" area="cpu"><CpuView /></Guard>
        <Guard name="Memory" area="memory"><MemoryView /></Guard>
        <section className="panel bottom">
          <div className="tabs">
            {TABS.map(([id, label]) => (
              <button key={id} type="button" className={tab === id ? 'tab on' : 'tab'} data-testid={`tab-${id}`} onClick={() => useSelection.setState({ bottomTab: id })}>{label}</button>
            ))}
          </div>
          <Guard name={tab === 'trace' ? 'Trace' : 'Page tables'}>{tab === 'trace' ? <TraceView /> : <PageTablesView />}</Guard>
        </section>
      </main>
      <CrashReport />
      <Help />
    </div>
  );
}
