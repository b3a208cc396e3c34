/** What a style may use beside its tiles: this server's glyphs and sprites. */
export interface StyleResources {
  /** The versioned glyphs template; undefined when no font is loaded (then no labels). */
  glyphs?: string | undefined;
  /** The font generated labels are set in. */
  font?: string | undefined;
  /** The versioned sprite URL of generated styles (the first sheet). */
  sprite?: string | undefined;
  /** The icon generated styles put at labelled points (from `sprite`). */
  pointIcon?: string | undefined;
  /** The versioned sprite URL of the sheets `names`; undefined when one is unknown. */
  spriteUrl?: (names: string[]) => string | undefined;
}

/** Properties that hold a feature's name, in the order they are preferred. */
const NAME_FIELDS = ['name', 'name_en', 'name:en', 'NAME', 'Name', 'NAME_EN'];

/** The name-like property of a vector layer (from its `fields`), if it has one. */
export function nameField(fields: Readonly<Record<string, unknown>> | undefined): string | undefined {
  return fields === undefined ? undefined : NAME_FIELDS.find((field) => Object.hasOwn(fields, field));
}

/**
 * The symbol layer that labels one vector layer: points and polygons (a polygon's label sits at
 * its pole of inaccessibility), never lines; only when the layer has a name-like property and a
 * font is loaded. `geometry` undefined: the layer's geometry is unknown, so a filter keeps lines out.
 */
export function labelLayer(
  sourceId: string,
  layer: string,
  geometry: 'Point' | 'LineString' | 'Polygon' | undefined,
  fields: Readonly<Record<string, unknown>> | undefined,
  zooms: object,
  resources: StyleResources,
): Record<string, unknown> | undefined {
  const field = nameField(fields);
  if (field === undefined || resources.glyphs === undefined || resources.font === undefined || geometry === 'LineString') {
    return undefined;
  }
  const point = geometry === 'Point';
  return {
    id: `${layer}-label`,
    type: 'symbol',
    source: sourceId,
    'source-layer': layer,
    ...zooms,
    ...(geometry === undefined && { filter: ['in', '$type', 'Point', 'Polygon'] }),
    layout: {
      'text-field': ['to-string', ['get', field]],
      'text-font': [resources.font],
      'text-size': point ? 12 : 11,
      'text-max-width': 8,
      ...(point && { 'text-anchor': 'top', 'text-offset': [0, resources.pointIcon ? 0.9 : 0.6] }),
      ...(point && resources.pointIcon !== undefined && resources.sprite !== undefined && { 'icon-image': resources.pointIcon }),
    },
    paint: { 'text-color': point ? '#222' : '#555', 'text-halo-color': '#fff', 'text-halo-width': 1.2 },
  };
}

/** An absolute URL (a scheme and `//`): passed through; anything else is this server's. */
export function isAbsoluteUrl(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value);
}

/**
 * A user style's `sprite`, pointed at this server when it is not an absolute URL: `"maki"`,
 * `"maki,other"` or `"sprites/maki"` name sprite folders (`data/sprites/{name}/`) and become the
 * versioned sprite URL of those sheets; the array form (`[{id, url}]`) is rewritten entry by entry.
 * Anything else (absolute URLs, unknown sheets) is left as it is.
 */
export function rewriteSprite(sprite: unknown, resources: StyleResources): unknown {
  const one = (value: unknown) => {
    if (typeof value !== 'string' || value === '' || isAbsoluteUrl(value) || resources.spriteUrl === undefined) return value;
    return resources.spriteUrl(value.replace(/^\/?sprites\//, '').split(',')) ?? value;
  };
  if (Array.isArray(sprite)) {
    return sprite.map((entry) =>
      typeof entry === 'object' && entry !== null ? { ...entry, url: one((entry as { url?: unknown }).url) } : entry,
    );
  }
  return one(sprite);
}
