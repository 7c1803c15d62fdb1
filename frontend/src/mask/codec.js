/**
 * Label maps ⇄ PNG bytes, written by hand so uploads carry exact class ids.
 *
 * Encoding writes an indexed PNG (colour type 3, 8 bits per pixel): the PLTE
 * chunk holds the layout's palette and every pixel's index is its class id, so
 * the backend reads the ids back exactly and any image viewer shows the colours.
 * Decoding reads 8-bit PNGs of colour type 3 (indexed: index = class id),
 * 0 (grey: value = class id; indexed and grey also at 1, 2 and 4 bits) and
 * 2 / 6 (RGB / RGBA in the layout's colours, mapped back to class ids with a
 * ±1 tolerance per channel; alpha is ignored). Interlaced and 16-bit images are
 * refused with a message that says so. Everything is async because zlib
 * (de)compression goes through the standard `CompressionStream('deflate')` /
 * `DecompressionStream('deflate')` (browsers, Node ≥ 18).
 *
 * Bad input raises `InvalidMask`; an RGB mask with colours outside the palette
 * raises `UnknownColours` (an `InvalidMask`) listing each colour and its pixel count.
 */

import { LabelBuffer, colourLookup } from "./labelBuffer.js";

/** Raised for bytes that are not a usable mask PNG. The message is a plain sentence for the user. */
export class InvalidMask extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidMask";
  }
}

/** Raised when an RGB mask holds colours that are not in the palette. */
export class UnknownColours extends InvalidMask {
  /** @param {{rgb: number[], pixels: number}[]} colours unknown colours, most frequent first */
  constructor(colours) {
    const shown = colours.slice(0, 5).map((c) => `${hexColour(c.rgb)} (${c.pixels} px)`);
    const more = colours.length > 5 ? ` and ${colours.length - 5} more` : "";
    super(
      `The mask has ${colours.length} colour${colours.length === 1 ? "" : "s"} that ` +
        `${colours.length === 1 ? "is" : "are"} not in the layout's palette: ${shown.join(", ")}${more}.`,
    );
    this.name = "UnknownColours";
    this.colours = colours;
  }
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOUR_GREY = 0;
const COLOUR_RGB = 2;
const COLOUR_INDEXED = 3;
const COLOUR_RGBA = 6;
/** Bytes per pixel for 8-bit images, by colour type (the filter step unit). */
const CHANNELS = { [COLOUR_GREY]: 1, [COLOUR_RGB]: 3, [COLOUR_INDEXED]: 1, [COLOUR_RGBA]: 4 };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (the PNG / zlib polynomial) of a byte array. */
export function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Indexed PNG bytes of a label map: colour type 3, 8-bit, PLTE = palette, index = class id.
 *
 * @param {LabelBuffer} labels
 * @param {number[][]} palette [r, g, b] per class id; must cover every id in `labels`
 * @returns {Promise<Uint8Array>}
 */
export async function encodeIndexedPng(labels, palette) {
  colourLookup(palette); // validates the palette
  const counts = labels.countPerClass();
  for (let cls = palette.length; cls < 256; cls++) {
    if (counts[cls] > 0) {
      throw new InvalidMask(`The mask uses class ${cls}, but the palette has only ${palette.length} classes.`);
    }
  }
  const { width, height } = labels;
  const raw = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter type None: label maps compress well as they are
    raw.set(labels.data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, COLOUR_INDEXED, 0, 0, 0], 8);
  return concatBytes([
    PNG_SIGNATURE,
    chunk("IHDR", header),
    chunk("PLTE", Uint8Array.from(palette.flat())),
    chunk("IDAT", await zlibCompress(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/**
 * Decoded pixels of a PNG.
 *
 * @typedef {object} DecodedPng
 * @property {number} width
 * @property {number} height
 * @property {number} colourType 0 grey, 2 RGB, 3 indexed, 6 RGBA
 * @property {Uint8Array} pixels one byte per sample, row-major: width*height values for
 *   types 0 and 3 (unpacked to a byte per pixel), width*height*3 for 2, width*height*4 for 6
 * @property {number[][] | null} palette PLTE entries as [r, g, b] (indexed images only)
 */

/**
 * Parse and decompress a PNG (8-bit types 0, 2, 3, 6; 1/2/4-bit types 0 and 3; not interlaced).
 *
 * @param {Uint8Array} bytes
 * @returns {Promise<DecodedPng>}
 */
export async function decodePng(bytes) {
  const chunks = readChunks(bytes);
  const ihdr = chunks.find((c) => c.type === "IHDR");
  if (!ihdr || chunks[0] !== ihdr || ihdr.data.length !== 13) {
    throw new InvalidMask("The file is not a valid PNG: its header chunk is missing or malformed.");
  }
  const header = new DataView(ihdr.data.buffer, ihdr.data.byteOffset, 13);
  const width = header.getUint32(0);
  const height = header.getUint32(4);
  const [bitDepth, colourType, compression, filterMethod, interlace] = ihdr.data.subarray(8, 13);
  checkHeader(width, height, bitDepth, colourType, compression, filterMethod, interlace);

  let palette = null;
  if (colourType === COLOUR_INDEXED) {
    const plte = chunks.find((c) => c.type === "PLTE");
    if (!plte || plte.data.length % 3 !== 0 || plte.data.length === 0) {
      throw new InvalidMask("The indexed PNG has no valid palette (PLTE chunk).");
    }
    palette = [];
    for (let i = 0; i < plte.data.length; i += 3) palette.push(Array.from(plte.data.subarray(i, i + 3)));
  }
  const idat = chunks.filter((c) => c.type === "IDAT").map((c) => c.data);
  if (idat.length === 0) throw new InvalidMask("The PNG has no image data (IDAT chunk).");

  const samplesPerPixel = CHANNELS[colourType];
  const rowBytes = Math.ceil((width * samplesPerPixel * bitDepth) / 8);
  const filtered = await zlibDecompress(concatBytes(idat));
  if (filtered.length < (rowBytes + 1) * height) {
    throw new InvalidMask("The PNG's image data is truncated.");
  }
  const stepBytes = Math.max(1, (samplesPerPixel * bitDepth) / 8);
  const rows = unfilterRows(filtered, rowBytes, height, stepBytes);
  const pixels = bitDepth === 8 ? rows : unpackSubByteRows(rows, rowBytes, width, height, bitDepth);
  return { width, height, colourType, pixels, palette };
}

/**
 * Class ids from mask PNG bytes, checked against the layout's palette.
 *
 * Indexed and grey PNGs: the pixel value is the class id (the file's own PLTE is
 * not consulted). RGB / RGBA PNGs: each colour maps to the palette class whose
 * colour matches it exactly, else within ±1 per channel (the nearest such one);
 * any other colour raises `UnknownColours`.
 *
 * @param {Uint8Array} bytes
 * @param {number[][]} palette [r, g, b] per class id
 * @returns {Promise<LabelBuffer>}
 */
export async function labelsFromPng(bytes, palette) {
  colourLookup(palette); // validates the palette
  const png = await decodePng(bytes);
  if (png.colourType === COLOUR_RGB || png.colourType === COLOUR_RGBA) {
    return labelsFromRgb(png.pixels, png.width, png.height, CHANNELS[png.colourType], palette);
  }
  const labels = new LabelBuffer(png.width, png.height, png.pixels);
  const counts = labels.countPerClass();
  const outside = [];
  for (let cls = palette.length; cls < 256; cls++) if (counts[cls] > 0) outside.push(cls);
  if (outside.length > 0) {
    throw new InvalidMask(
      `The mask uses class ${outside.length === 1 ? "id" : "ids"} ${outside.join(", ")}, ` +
        `but the layout has only ${palette.length} classes (0..${palette.length - 1}).`,
    );
  }
  return labels;
}

/**
 * Class ids of an RGB(A) image whose colours are palette colours (±1 per channel).
 *
 * @param {Uint8Array} pixels width*height*channels bytes, row-major
 * @param {number} width
 * @param {number} height
 * @param {number} channels 3 (RGB) or 4 (RGBA; alpha ignored)
 * @param {number[][]} palette [r, g, b] per class id
 * @returns {LabelBuffer}
 */
export function labelsFromRgb(pixels, width, height, channels, palette) {
  const classOfColour = paletteMatcher(palette);
  const labels = new LabelBuffer(width, height);
  const unknownCounts = new Map();
  const seen = new Map(); // packed rgb → class id or -1
  for (let i = 0, p = 0; i < labels.data.length; i++, p += channels) {
    const key = (pixels[p] << 16) | (pixels[p + 1] << 8) | pixels[p + 2];
    let cls = seen.get(key);
    if (cls === undefined) {
      cls = classOfColour(pixels[p], pixels[p + 1], pixels[p + 2]);
      seen.set(key, cls);
    }
    if (cls < 0) unknownCounts.set(key, (unknownCounts.get(key) ?? 0) + 1);
    else labels.data[i] = cls;
  }
  if (unknownCounts.size > 0) {
    const colours = [...unknownCounts]
      .map(([key, count]) => ({ rgb: [key >> 16, (key >> 8) & 0xff, key & 0xff], pixels: count }))
      .sort((a, b) => b.pixels - a.pixels || packRgb(a.rgb) - packRgb(b.rgb));
    throw new UnknownColours(colours);
  }
  return labels;
}

/**
 * A function (r, g, b) → class id, or -1 for a colour no palette entry matches.
 * Exact matches win; otherwise the palette colour within ±1 on every channel with
 * the smallest summed difference (lowest class id on ties).
 */
function paletteMatcher(palette) {
  const exact = new Map();
  palette.forEach((rgb, cls) => {
    const key = packRgb(rgb);
    if (exact.has(key)) {
      throw new InvalidMask(
        `Classes ${exact.get(key)} and ${cls} have the same colour ${hexColour(rgb)}, ` +
          `so an RGB mask cannot tell them apart; upload an indexed PNG instead.`,
      );
    }
    exact.set(key, cls);
  });
  return (r, g, b) => {
    const hit = exact.get((r << 16) | (g << 8) | b);
    if (hit !== undefined) return hit;
    let best = -1;
    let bestDistance = Infinity;
    palette.forEach(([pr, pg, pb], cls) => {
      const dr = Math.abs(pr - r);
      const dg = Math.abs(pg - g);
      const db = Math.abs(pb - b);
      if (dr <= 1 && dg <= 1 && db <= 1 && dr + dg + db < bestDistance) {
        best = cls;
        bestDistance = dr + dg + db;
      }
    });
    return best;
  };
}

function checkHeader(width, height, bitDepth, colourType, compression, filterMethod, interlace) {
  if (width < 1 || height < 1) throw new InvalidMask("The PNG has zero width or height.");
  if (width * height > 64 * 1024 * 1024) {
    throw new InvalidMask(`The PNG is too large for a mask (${width}×${height}).`);
  }
  if (!(colourType in CHANNELS)) {
    throw new InvalidMask(
      `PNG colour type ${colourType} (${colourType === 4 ? "grey with alpha" : "unknown"}) is not supported; ` +
        "save the mask as an indexed, grey, RGB or RGBA PNG.",
    );
  }
  if (bitDepth === 16) {
    throw new InvalidMask("16-bit PNGs are not supported; save the mask with 8 bits per channel.");
  }
  const subByte = colourType === COLOUR_INDEXED || colourType === COLOUR_GREY;
  if (!(bitDepth === 8 || (subByte && (bitDepth === 1 || bitDepth === 2 || bitDepth === 4)))) {
    throw new InvalidMask(`PNG bit depth ${bitDepth} is not valid for colour type ${colourType}.`);
  }
  if (compression !== 0 || filterMethod !== 0) {
    throw new InvalidMask("The PNG uses an unknown compression or filter method.");
  }
  if (interlace !== 0) {
    throw new InvalidMask("Interlaced PNGs are not supported; save the mask without interlacing.");
  }
}

/** Chunks of a PNG as {type, data}, CRC-checked, up to IEND. */
function readChunks(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("PNG bytes must be a Uint8Array");
  if (bytes.length < 8 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    throw new InvalidMask("The file is not a PNG image.");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks = [];
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    if (offset + 12 + length > bytes.length) break;
    const typeBytes = bytes.subarray(offset + 4, offset + 8);
    const type = String.fromCharCode(...typeBytes);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== view.getUint32(offset + 8 + length)) {
      throw new InvalidMask(`The PNG is corrupted (bad checksum in its ${type} chunk).`);
    }
    chunks.push({ type, data });
    offset += 12 + length;
    if (type === "IEND") return chunks;
  }
  throw new InvalidMask("The PNG is truncated (no end chunk).");
}

/**
 * Undo PNG row filters: height*rowBytes raw bytes from height*(1+rowBytes) filtered ones.
 * `stepBytes` is the byte distance to the "left" pixel (≥ 1).
 */
function unfilterRows(filtered, rowBytes, height, stepBytes) {
  const raw = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const filterType = filtered[y * (rowBytes + 1)];
    const src = y * (rowBytes + 1) + 1;
    const dst = y * rowBytes;
    const up = dst - rowBytes; // start of the previous raw row (unused on row 0)
    for (let i = 0; i < rowBytes; i++) {
      const left = i >= stepBytes ? raw[dst + i - stepBytes] : 0;
      const above = y > 0 ? raw[up + i] : 0;
      const upperLeft = y > 0 && i >= stepBytes ? raw[up + i - stepBytes] : 0;
      let predictor;
      switch (filterType) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = left;
          break;
        case 2:
          predictor = above;
          break;
        case 3:
          predictor = (left + above) >> 1;
          break;
        case 4:
          predictor = paeth(left, above, upperLeft);
          break;
        default:
          throw new InvalidMask(`The PNG is corrupted (unknown row filter type ${filterType} in row ${y}).`);
      }
      raw[dst + i] = (filtered[src + i] + predictor) & 0xff;
    }
  }
  return raw;
}

/** The Paeth predictor of the PNG specification. */
export function paeth(left, above, upperLeft) {
  const p = left + above - upperLeft;
  const pa = Math.abs(p - left);
  const pb = Math.abs(p - above);
  const pc = Math.abs(p - upperLeft);
  if (pa <= pb && pa <= pc) return left;
  if (pb <= pc) return above;
  return upperLeft;
}

/** One byte per pixel from rows packed at 1, 2 or 4 bits per pixel (most significant bits first). */
function unpackSubByteRows(rows, rowBytes, width, height, bitDepth) {
  const pixels = new Uint8Array(width * height);
  const perByte = 8 / bitDepth;
  const mask = (1 << bitDepth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = rows[y * rowBytes + Math.floor(x / perByte)];
      const shift = 8 - bitDepth * ((x % perByte) + 1);
      pixels[y * width + x] = (byte >> shift) & mask;
    }
  }
  return pixels;
}

/** A PNG chunk: length, type, data, CRC over type + data. */
function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function zlibCompress(bytes) {
  return streamThrough(new CompressionStream("deflate"), bytes);
}

async function zlibDecompress(bytes) {
  try {
    return await streamThrough(new DecompressionStream("deflate"), bytes);
  } catch (error) {
    throw new InvalidMask(`The PNG's image data cannot be decompressed (${error.message}).`);
  }
}

/** All bytes out of a (de)compression transform stream fed with `bytes`. */
async function streamThrough(transform, bytes) {
  const output = new Response(transform.readable).arrayBuffer();
  const writer = transform.writable.getWriter();
  writer.write(bytes).catch(() => {}); // a failure surfaces through `output` and `close`
  await Promise.all([writer.close(), output]);
  return new Uint8Array(await output);
}

function concatBytes(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function packRgb(rgb) {
  return (rgb[0] << 16) | (rgb[1] << 8) | rgb[2];
}

function hexColour(rgb) {
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}
