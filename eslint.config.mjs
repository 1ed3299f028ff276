import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      'tools/**',
      '.sandpiper/**',
      'examples/**',
      'bench/results/**',
      'test-results/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
    },
  },
  {
    // The core runs under plain Node (CLI, tests): it never reaches for the editor, the webview protocol or the
    // callers above it. It speaks domain values and events; features and the CLI turn them into what they show.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/core must not import vscode; put editor code in src/features.' }],
          patterns: [
            {
              regex: '(^|/)protocol(/|$)',
              message:
                'src/core must not import the webview protocol; emit a domain event and let the feature make the message.',
            },
            {
              regex: '(^|/)(features|cli)(/|$)',
              message:
                'src/core must not import src/features or src/cli: they depend on core, not the other way round.',
            },
          ],
        },
      ],
    },
  },
  {
    // The webview protocol is shared with the browser bundle: core's values only, never the editor or its callers.
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/protocol is bundled into the webview: it must not import vscode.' }],
          patterns: [
            { regex: '(^|/)(features|cli)(/|$)', message: 'src/protocol must not import src/features or src/cli.' },
          ],
        },
      ],
    },
  },
  {
    files: ['eslint.config.mjs'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['bin/**', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs', 'scripts/**', 'test/**'],
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
