// ESLint for the page's own modules (tests/run.sh, step eslint): the recommended rules, browser globals,
// ES modules. The vendored bundles are npm's files, checked by their sums instead (vendor/*/VERSION.md).
import js from '@eslint/js';
import globals from 'globals';

export default [
  {ignores: ['vendor/', 'node_modules/']},
  js.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: globals.browser,
    },
    linterOptions: {reportUnusedDisableDirectives: 'error'},
  },
  {
    files: ['eslint.config.js'],
    languageOptions: {globals: globals.node},
  },
];
