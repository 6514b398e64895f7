// The README is the user's first contract: it must name every reason and every flag the code has, and CI must run
// the test command it gives.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import { FLAGS } from '../../src/config.ts';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('README', () => {
  it.each(Object.values(Reason))('documents reason %s', (reason) => {
    expect(readme).toContain(`\`${reason}\``);
  });

  it.each(Object.entries(FLAGS))('documents flag --%s with its env var and default', (name, f) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`--${name}\``));
    expect(row).toBeDefined();
    expect(row).toContain(f.env);
    if (f.def && name !== 'kubeconfig') expect(row).toContain(f.def);
  });

  it('gives npm test as the test command, and .ci/run runs it', () => {
    expect(readme).toContain('npm test ');
    expect(readFileSync(new URL('.ci/run', root), 'utf8')).toMatch(/^npm test$/m);
  });
});
