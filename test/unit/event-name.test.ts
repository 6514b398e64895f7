import { describe, expect, it } from '@jest/globals';
import { eventName, MAX_EVENT_NAME } from '../../src/kube/events.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SUFFIX = '17a2b3c4d5e6f7081';

describe('eventName', () => {
  const rows: Array<[string, string, string]> = [
    ['a short name keeps client-go\'s "<name>.<hex>" form', 'golden', `golden.${SUFFIX}`],
    [
      'a name that fits exactly is not cut',
      'x'.repeat(MAX_EVENT_NAME - SUFFIX.length - 1),
      `${'x'.repeat(MAX_EVENT_NAME - SUFFIX.length - 1)}.${SUFFIX}`,
    ],
    [
      'a 253-character name is cut to leave room for the suffix',
      'y'.repeat(253),
      `${'y'.repeat(MAX_EVENT_NAME - SUFFIX.length - 1)}.${SUFFIX}`,
    ],
    [
      'a cut that ends in "." or "-" drops them, so the name stays a DNS subdomain',
      `${'z'.repeat(233)}-.${'w'.repeat(19)}`,
      `${'z'.repeat(233)}.${SUFFIX}`,
    ],
  ];
  it.each(rows)('%s', (_why, objectName, expected) => {
    const name = eventName(objectName, SUFFIX);
    expect(name).toBe(expected);
    expect(name.length).toBeLessThanOrEqual(MAX_EVENT_NAME);
    expect(name).toMatch(DNS_SUBDOMAIN);
  });
});
