/** Where a stretchable icon's text goes and which parts stretch, in the icon's own pixels at 1x. */
export interface IconMarkers {
  /** [left, top, right, bottom]. */
  content?: [number, number, number, number];
  stretchX?: [number, number][];
  stretchY?: [number, number][];
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The marker rectangles an SVG carries for MapLibre's stretchable icons, as martin (spreet) reads
 * them: the element with id `mapbox-content` gives `content`, those with ids starting
 * `mapbox-stretch-x` / `mapbox-stretch-y` give `stretchX` / `stretchY`. Read from `<rect>`
 * elements (x, y, width, height in user units, scaled by the root's viewBox to its width and
 * height); other shapes are not measured.
 */
export function iconMarkers(svg: string, width: number, height: number): IconMarkers {
  const scale = viewBoxScale(svg, width, height);
  const rects = [...svg.matchAll(/<rect\b[^>]*>/g)].map((m) => m[0]);
  const boxes = (prefix: string, exact: boolean) =>
    rects.flatMap((tag) => {
      const id = attribute(tag, 'id');
      if (id === undefined || (exact ? id !== prefix : !id.startsWith(prefix))) return [];
      const box = rectBox(tag);
      return box === undefined ? [] : [scaleBox(box, scale)];
    });
  const markers: IconMarkers = {};
  const [content] = boxes('mapbox-content', true);
  if (content) markers.content = [content.x, content.y, content.x + content.width, content.y + content.height];
  const xs = boxes('mapbox-stretch-x', false);
  if (xs.length > 0) markers.stretchX = xs.map((b) => [b.x, b.x + b.width]);
  const ys = boxes('mapbox-stretch-y', false);
  if (ys.length > 0) markers.stretchY = ys.map((b) => [b.y, b.y + b.height]);
  return markers;
}

/** Scales markers from 1x to `ratio`, rounded to whole pixels as MapLibre wants them. */
export function scaleMarkers(markers: IconMarkers, ratio: number, offset = 0): IconMarkers {
  const at = (v: number) => Math.round(v * ratio) + offset;
  return {
    ...(markers.content && { content: markers.content.map(at) as [number, number, number, number] }),
    ...(markers.stretchX && { stretchX: markers.stretchX.map(([a, b]) => [at(a), at(b)] as [number, number]) }),
    ...(markers.stretchY && { stretchY: markers.stretchY.map(([a, b]) => [at(a), at(b)] as [number, number]) }),
  };
}

function attribute(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`)
    .exec(tag)
    ?.slice(1)
    .find((v) => v !== undefined);
}

function rectBox(tag: string): Box | undefined {
  const [x, y, width, height] = ['x', 'y', 'width', 'height'].map((n) =>
    Number.parseFloat(attribute(tag, n) ?? (n.length === 1 ? '0' : '')),
  );
  return [x, y, width, height].every((v) => Number.isFinite(v))
    ? { x: x as number, y: y as number, width: width as number, height: height as number }
    : undefined;
}

/** User units → pixels of the root: from its viewBox to its size (identity without a viewBox). */
function viewBoxScale(svg: string, width: number, height: number): { x0: number; y0: number; sx: number; sy: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const box = attribute(root, 'viewBox')
    ?.trim()
    .split(/[\s,]+/)
    .map(Number);
  if (box?.length !== 4 || !box.every(Number.isFinite) || !((box[2] as number) > 0) || !((box[3] as number) > 0)) {
    return { x0: 0, y0: 0, sx: 1, sy: 1 };
  }
  const [x0, y0, w, h] = box as [number, number, number, number];
  return { x0, y0, sx: width / w, sy: height / h };
}

function scaleBox(box: Box, s: { x0: number; y0: number; sx: number; sy: number }): Box {
  return { x: (box.x - s.x0) * s.sx, y: (box.y - s.y0) * s.sy, width: box.width * s.sx, height: box.height * s.sy };
}
