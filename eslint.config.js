// Lint: mostly the TypeScript compiler's job; the rule that matters here is the boundary.
// The UI (src/) may import only the typed API of the worker, never the machine's internals,
// and the worker code (workers/) never imports the UI.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', '**/*.generated.ts'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {},
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/workers/*', '!**/workers/api', '**/workers/*/**'],
          message: 'The UI talks to the machine only through workers/api.ts (and the worker entry).',
        }],
      }],
    },
  },
  {
    files: ['workers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/**', 'react', 'react-dom'], message: 'Worker code has no UI.' }] }],
    },
  },
);
