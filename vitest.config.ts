import { defineConfig } from 'vitest/config';

// Unit and integration tests run headless in Node: the worker code has no DOM.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
