// Test helper: builds PNG bytes independently of the codec under test, with
// Node's zlib for compression and CRC-32, and a chosen filter type per row.
import zlib from "node:zlib";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** One PNG chunk (length, type, data, CRC) as bytes. */
export function pngChunk(type, data) {
  const typeAndData = Buffer.concat([Buffer.from(type, "latin1"), Buffer.from(data)]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  typeAndData.copy(out, 4);
  out.writeUInt32BE(zlib.crc32(typeAndData), 8 + data.length);
  return out;
}

/** The 13 IHDR bytes. */
export function ihdr(width, height, bitDepth, colourType, interlace = 0) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([bitDepth, colourType, 0, 0, interlace], 8);
  return header;
}

/** A whole PNG file from chunks [type, data]. */
export function pngFile(chunks) {
  return new Uint8Array(Buffer.concat([Buffer.from(SIGNATURE), ...chunks.map(([type, data]) => pngChunk(type, data))]));
}

/**
 * A PNG whose rows are filtered with `filters[y]` (0..4), `step` bytes per pixel.
 * `rows` are raw (unfiltered) byte rows of equal length.
 */
export function filteredPng({ width, height, bitDepth = 8, colourType, rows, filters, step, palette = null }) {
  const filtered = [];
  rows.forEach((row, y) => {
    const above = y > 0 ? rows[y - 1] : new Uint8Array(row.length);
    filtered.push(filters[y], ...filterRow(filters[y], row, above, step));
  });
  const chunks = [["IHDR", ihdr(width, height, bitDepth, colourType)]];
  if (palette) chunks.push(["PLTE", Uint8Array.from(palette.flat())]);
  chunks.push(["IDAT", zlib.deflateSync(Uint8Array.from(filtered))], ["IEND", new Uint8Array(0)]);
  return pngFile(chunks);
}

function filterRow(type, row, above, step) {
  const out = new Uint8Array(row.length);
  for (let i = 0; i < row.length; i++) {
    const a = i >= step ? row[i - step] : 0;
    const b = above[i];
    const c = i >= step ? above[i - step] : 0;
    const predictor = [0, a, b, (a + b) >> 1, paethReference(a, b, c)][type];
    out[i] = (row[i] - predictor) & 0xff;
  }
  return out;
}

// Written from the PNG specification's pseudo-code, separately from the codec's.
function paethReference(a, b, c) {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** A deterministic pseudo-random generator (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
