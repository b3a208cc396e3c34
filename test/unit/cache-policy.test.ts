import { describe, expect, it } from 'vitest';
import {
  type CacheSubject,
  cacheControl,
  IMMUTABLE_MAX_AGE,
  requestedVersion,
  type TilePolicy,
  tilePolicy,
  versionMatches,
} from '../../src/http/cache-policy.ts';

const CURRENT = '3f2a9c0d1e4b5a67';
const OLDER = '0b1c2d3e4f5a6b7c';
const tile = (requested: string | undefined): CacheSubject => ({ kind: 'tile', requested, current: CURRENT });

describe('cacheControl', () => {
  it.each<[string, CacheSubject, number, string]>([
    ['tile, v = current', tile(CURRENT), 60, 'public, max-age=31536000, immutable'],
    ['tile, v = current, other maxAge', tile(CURRENT), 0, 'public, max-age=31536000, immutable'],
    ['tile, no v', tile(undefined), 60, 'public, max-age=60'],
    ['tile, no v, maxAge 0', tile(undefined), 0, 'public, max-age=0'],
    ['tile, no v, maxAge 3600', tile(undefined), 3600, 'public, max-age=3600'],
    ['tile, stale v', tile(OLDER), 60, 'no-cache'],
    ['tile, future v (not loaded here yet)', tile('ffffffffffffffff'), 60, 'no-cache'],
    ['tile, truncated prefix of current', tile(CURRENT.slice(0, 8)), 60, 'no-cache'],
    ['tile, current plus a suffix', tile(`${CURRENT}0`), 60, 'no-cache'],
    ['tile, current in upper case', tile(CURRENT.toUpperCase()), 60, 'no-cache'],
    ['tile, current with spaces', tile(` ${CURRENT} `), 60, 'no-cache'],
    ['tile, empty v', tile(''), 60, 'no-cache'],
    ['tile, garbage v', tile('<script>'), 60, 'no-cache'],
    ['asset, v = its digest', { kind: 'asset', requested: CURRENT, current: CURRENT }, 60, 'public, max-age=31536000, immutable'],
    ['asset, no v', { kind: 'asset', requested: undefined, current: CURRENT }, 60, 'no-cache'],
    ['asset, other v', { kind: 'asset', requested: OLDER, current: CURRENT }, 60, 'no-cache'],
    ['discovery', { kind: 'discovery' }, 60, 'no-cache, must-revalidate'],
    ['status', { kind: 'status' }, 60, 'no-store'],
    ['error', { kind: 'error' }, 60, 'no-store'],
  ])('%s → %s', (_name, subject, maxAge, expected) => {
    expect(cacheControl(subject, maxAge)).toBe(expected);
  });

  it('keeps versioned tiles for one year', () => {
    expect(IMMUTABLE_MAX_AGE).toBe(365 * 24 * 60 * 60);
    expect(cacheControl(tile(CURRENT), 60)).toContain(`max-age=${IMMUTABLE_MAX_AGE}`);
  });

  it.each<CacheSubject>([tile(OLDER), tile(''), { kind: 'discovery' }, { kind: 'status' }, { kind: 'error' }])(
    'never lets a cache keep %j without asking',
    (subject) => {
      expect(cacheControl(subject, 31_536_000)).not.toMatch(/immutable|max-age=[1-9]/);
    },
  );
});

describe('tilePolicy: `v` and, beside it, `h` (a content-addressed URL)', () => {
  const HASH = '9a8b7c6d5e4f3a2b';
  const OTHER_HASH = '0123456789abcdef';
  const now = { version: CURRENT, hash: HASH };
  it.each<[string, { v: string | undefined; h?: string | undefined }, { version: string; hash?: string }, TilePolicy]>([
    ['v current', { v: CURRENT }, now, 'current'],
    ['v stale', { v: OLDER }, now, 'other'],
    ['no v', { v: undefined }, now, 'unversioned'],
    ['v garbage', { v: '<script>' }, now, 'other'],
    ['v repeated', { v: requestedVersion([CURRENT, CURRENT]) }, now, 'other'],
    ['v current, tile absent', { v: CURRENT }, { version: CURRENT }, 'current'],
    ['h current', { v: undefined, h: HASH }, now, 'current'],
    ['h current after a refresh (the tile did not change)', { v: undefined, h: HASH }, { version: OLDER, hash: HASH }, 'current'],
    ['h of a changed tile', { v: undefined, h: OTHER_HASH }, now, 'other'],
    ['h of a removed tile (absent now)', { v: undefined, h: HASH }, { version: CURRENT }, 'other'],
    ['h garbage', { v: undefined, h: '<script>' }, now, 'other'],
    ['h empty', { v: undefined, h: '' }, now, 'other'],
    ['h upper case', { v: undefined, h: HASH.toUpperCase() }, now, 'other'],
    ['h a prefix', { v: undefined, h: HASH.slice(0, 8) }, now, 'other'],
    ['h repeated', { v: undefined, h: requestedVersion([HASH, HASH]) }, now, 'other'],
    ['h current, v current', { v: CURRENT, h: HASH }, now, 'current'],
    ['h current, v stale: not everything named is served', { v: OLDER, h: HASH }, now, 'other'],
    ['h changed, v current', { v: CURRENT, h: OTHER_HASH }, now, 'other'],
    ['h changed, v stale', { v: OLDER, h: OTHER_HASH }, now, 'other'],
  ])('%s → %s', (_name, requested, current, expected) => {
    expect(tilePolicy(requested, current)).toBe(expected);
  });
});

describe('versionMatches', () => {
  it.each([
    [CURRENT, CURRENT, true],
    [OLDER, CURRENT, false],
    [CURRENT.slice(0, 15), CURRENT, false],
    [CURRENT.toUpperCase(), CURRENT, false],
    [`${CURRENT} `, CURRENT, false],
    ['', CURRENT, false],
    [CURRENT, OLDER, false],
  ])('%j vs current %j → %s', (requested, current, expected) => {
    expect(versionMatches(requested, current)).toBe(expected);
  });
});

describe('requestedVersion', () => {
  it.each<[string | string[] | undefined, string | undefined]>([
    [undefined, undefined],
    ['', ''],
    [CURRENT, CURRENT],
    [[CURRENT, CURRENT], ''],
    [[CURRENT, OLDER], ''],
    [[], ''],
  ])('%j → %j', (input, expected) => {
    expect(requestedVersion(input)).toBe(expected);
  });

  it('a repeated v never earns an immutable answer, even when every copy is current', () => {
    const requested = requestedVersion([CURRENT, CURRENT]);
    expect(cacheControl({ kind: 'tile', requested, current: CURRENT }, 60)).toBe('no-cache');
  });
});
