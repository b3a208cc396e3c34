import { describe, expect, it } from 'vitest';
import { rewriteStyle } from '../../src/http/style.ts';
import { metadataVersion } from '../../src/source/version.ts';

// Names that come from files or users (style sources, metadata keys) are data: `__proto__` and
// `constructor` are looked up and kept as any other name.

describe('names that are also Object members', () => {
  it.each(['__proto__', 'constructor'])('a user style source named %s is kept', (name) => {
    const style = JSON.parse(
      `{"version":8,"sources":{"${name}":{"type":"geojson","data":"x.json"},"b":{"type":"vector","url":"mbtiles://b"}}}`,
    );
    const { style: rewritten, unresolved } = rewriteStyle(style, 'http://h', () => undefined);
    expect(Object.keys(rewritten.sources as object).sort()).toEqual([name, 'b'].sort());
    expect(JSON.parse(JSON.stringify(rewritten)).sources[name]).toEqual({ type: 'geojson', data: 'x.json' });
    expect(unresolved).toEqual(['b']);
  });

  it('--version-key constructor reads the metadata key, not Object.prototype.constructor', () => {
    expect(() => metadataVersion({}, 'constructor')).toThrow(/no agg_tiles_hash or constructor/);
    expect(metadataVersion(JSON.parse('{"constructor":"v1"}'), 'constructor')).toBe('v1');
  });
});
