import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/http/discovery-routes.ts';

describe('escapeHtml', () => {
  it.each([
    ['', ''],
    ['roads', 'roads'],
    ['europe/roads-v1.2_x', 'europe/roads-v1.2_x'],
    ['a & b', 'a &#38; b'],
    ['<b>', '&#60;b&#62;'],
    ['say "hi"', 'say &#34;hi&#34;'],
    ["it's", 'it&#39;s'],
    ['&amp;', '&#38;amp;'],
    ['<script>alert("x")</script>', '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;'],
    ['" onmouseover="x', '&#34; onmouseover=&#34;x'],
    ["'><img src=x>", '&#39;&#62;&#60;img src=x&#62;'],
    ['Straße – 東京', 'Straße – 東京'],
    ['http://localhost:8080/tiles/a.json?v=1&x=2', 'http://localhost:8080/tiles/a.json?v=1&#38;x=2'],
  ])('%j → %j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it.each([['<'], ['>'], ['"'], ["'"], ['a<b>c"d\'e&f']])('leaves no markup character of %j behind', (input) => {
    expect(escapeHtml(input)).not.toMatch(/[<>"']/);
    expect(escapeHtml(input)).not.toMatch(/&(?!#\d+;)/);
  });
});
