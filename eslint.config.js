// ESLint flat config: type-checked rules everywhere, plus the fence that keeps the pure cores
// (core, protocol, storage index logic, keyspace, cluster, raft, swim, check, replica) free of
// I/O, timers, wall-clock time and randomness, so the simulator can run them from a seed.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const pureFolders = [
  'src/core/**/*.ts',
  'src/protocol/**/*.ts',
  'src/storage/**/*.ts',
  'src/keyspace/**/*.ts',
  'src/commands/**/*.ts',
  'src/raft/**/*.ts',
  'src/swim/**/*.ts',
  'src/cluster/**/*.ts',
  'src/check/**/*.ts',
  'src/replica/**/*.ts',
]

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'max-len': ['error', { code: 100, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
      'max-lines-per-function': ['error', { max: 70, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true, allowAny: false }],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'max-lines-per-function': 'off', '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: pureFolders,
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*', 'node:net', 'net', 'node:dgram', 'node:child_process', 'node:worker_threads', 'node:timers', 'node:timers/*', 'node:crypto', 'crypto', 'node:os', 'node:process'], message: 'Pure cores take I/O through core/ports.ts; real ports live in src/io/.' },
          { group: ['**/io/*', '**/server/*', '**/sim/*', '**/cli/*', '**/obs/*'], message: 'Pure cores must not import hosts.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use the Timers port.' },
        { name: 'setInterval', message: 'Use the Timers port.' },
        { name: 'setImmediate', message: 'Use the Timers port.' },
        { name: 'queueMicrotask', message: 'Use the Timers port.' },
        { name: 'process', message: 'Pure cores do not read the process.' },
        { name: 'performance', message: 'Use the Clock port.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Use the Clock port.' },
        { object: 'Math', property: 'random', message: 'Use the Rng port.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'Use the Clock port.' }],
    },
  },
)
