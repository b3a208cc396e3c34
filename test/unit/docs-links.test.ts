import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/fixtures.ts';

/** The README, every page of docs/ and the changelog: what a reader of the repository reads. */
const PAGES = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(REPO, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The targets of `[text](target)` links that point into the repository (no scheme, no bare anchor). */
function relativeLinks(markdown: string): string[] {
  const outside = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...outside.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/#.*$/, ''));
}

describe('the documentation', () => {
  it('the README is a newcomer page: at most 250 lines', () => {
    const lines = readFileSync(join(REPO, 'README.md'), 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(250);
  });

  it.each(PAGES)('%s: every relative link names a file of the repository', (page) => {
    const links = relativeLinks(readFileSync(join(REPO, page), 'utf8'));
    const missing = links.filter((target) => !existsSync(join(REPO, dirname(page), target)));
    expect(missing, `links in ${page}`).toEqual([]);
  });

  it.each(PAGES)('%s describes the software, not the work on it, nor files outside the repository', (page) => {
    const text = readFileSync(join(REPO, page), 'utf8');
    expect(text).not.toMatch(/\b[Ii]ssues?\b|\b[Ss]essions?\b|\bDESIGN\.md\b|\bSTYLE\.md\b/);
  });

  it('links are found: a link into docs/ and an external one are told apart', () => {
    expect(relativeLinks('[a](docs/x.md#top) [b](https://example.org) [c](#here) `[d](no.md)`')).toEqual(['docs/x.md']);
  });

  it('the README links every page of docs/', () => {
    const readmeLinks = relativeLinks(readFileSync(join(REPO, 'README.md'), 'utf8'));
    const pages = PAGES.filter((p) => p.startsWith('docs/'));
    expect(pages.length).toBeGreaterThan(0);
    for (const page of pages) expect(readmeLinks, page).toContain(page);
  });
});
