/*
 * An error boundary around each panel: if a view fails to render (a bug, or data it did not
 * expect), that panel shows the error and a retry button while the rest of the page and
 * the machine carry on.
 */

import { Component, type ReactNode } from 'react';

export class Guard extends Component<{ name: string; area?: string; children: ReactNode }, { error: string | null }> {
  override state = { error: null as string | null };

  static getDerivedStateFromError(e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    return (
      <section className={`panel ${this.props.area ?? ''}`} role="alert">
        <h2>{this.props.name}: this view failed</h2>
        <p className="dim">{this.state.error}</p>
        <button type="button" onClick={() => this.setState({ error: null })}>Retry</button>
      </section>
    );
  }
}
