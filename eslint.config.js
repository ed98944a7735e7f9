// Lint: the recommended JS and type-aware TypeScript rules, plus the few habits we hold to.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'build/**', 'examples/**/assembly/**', 'test/fixtures/assembly/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
      // Event handlers set up before a value is known read it later: that is not a missed const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Product code depends downward only: never on the tests, the examples, the benchmarks or the scripts.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(test|examples|bench|scripts)/', message: 'product code (src/) must not import tests, examples, benchmarks or scripts' }] }],
    },
  },
)
