import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'deploy/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      // what a module exports is a decision: name it (index files list the public API)
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'Export by name, not export *.' },
      ],
    },
  },
  {
    // the Kafka clients (kafkajs, librdkafka) stay behind the transport seam (transport/types.ts)
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/pipeline/src/transport/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: 'Use the transport interface (pipeline/src/transport).' },
            {
              name: '@confluentinc/kafka-javascript',
              message: 'Use the transport interface (pipeline/src/transport).',
            },
          ],
        },
      ],
    },
  },
);
