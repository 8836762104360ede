// A minimal SVG writer: elements as strings, attribute values and text escaped. Vector output is
// crisp at any zoom and any browser renders its text with a real font, so plots need no raster
// or bitmap font. Numbers are printed with at most two decimals, so the same data give the same
// bytes.

export type SvgAttributes = Record<string, string | number | undefined>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Text safe inside an element or a double-quoted attribute. */
export const escapeXml = (text: string): string => text.replace(/[&<>"]/g, (c) => ESCAPES[c]);

/** A coordinate or length: rounded to 0.01, no trailing zeros, never "-0". */
export const svgNumber = (v: number): string => String(Math.round(v * 100) / 100 + 0);

function attributes(attrs: SvgAttributes): string {
  return Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? svgNumber(v) : escapeXml(v!)}"`)
    .join('');
}

/** One element; `children` are already-built elements, or text (escaped here) when a string is given as `text`. */
export function svgElement(tag: string, attrs: SvgAttributes = {}, children: readonly string[] = [], text?: string): string {
  const inner = text !== undefined ? escapeXml(text) : children.join('');
  return inner === '' ? `<${tag}${attributes(attrs)}/>` : `<${tag}${attributes(attrs)}>${inner}</${tag}>`;
}

/** A whole SVG document of `width`×`height` user units with a white background. */
export function svgDocument(width: number, height: number, body: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">\n` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>\n${body.join('\n')}\n</svg>\n`;
}

/**
 * A polyline through the points in `colour`; a non-finite point breaks it into separate pieces,
 * and a piece of one point is drawn as a dot.
 */
export function svgPolylines(points: readonly [number, number][], colour: string, width: number, extra: SvgAttributes = {}): string[] {
  const pieces: [number, number][][] = [[]];
  for (const p of points) {
    if (Number.isFinite(p[0]) && Number.isFinite(p[1])) pieces[pieces.length - 1].push(p);
    else if (pieces[pieces.length - 1].length) pieces.push([]);
  }
  return pieces.filter((p) => p.length > 0).map((p) => (p.length === 1
    ? svgElement('circle', { cx: p[0][0], cy: p[0][1], r: width, fill: colour })
    : svgElement('polyline', {
      fill: 'none', stroke: colour, 'stroke-width': width, 'stroke-linejoin': 'round', ...extra,
      points: p.map(([x, y]) => `${svgNumber(x)},${svgNumber(y)}`).join(' '),
    })));
}
