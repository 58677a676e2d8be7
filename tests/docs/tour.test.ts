// docs/tour.md is made from the modules' own headers; this fails when a header changed and
// the tour was not remade (npx tsx scripts/tour.ts), or when a toured module lost its header.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOUR, header, renderTour } from '../../scripts/tour';

describe('the source tour', () => {
  it('gives every toured module an opening comment', () => {
    for (const { files } of TOUR) for (const f of files) expect(header(f).length, f).toBeGreaterThan(80);
  });
  it('is current with the headers', () => {
    expect(readFileSync('docs/tour.md', 'utf8')).toBe(renderTour());
  });
});
