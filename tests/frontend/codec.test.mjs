// Mask PNG codec: indexed encoder, decoder for indexed / grey / RGB / RGBA, colour → class mapping.
import assert from "node:assert/strict";
import test from "node:test";
import zlib from "node:zlib";

import {
  InvalidMask,
  UnknownColours,
  crc32,
  decodePng,
  encodeIndexedPng,
  labelsFromPng,
} from "../../frontend/src/mask/codec.js";
import { LabelBuffer } from "../../frontend/src/mask/labelBuffer.js";
import { filteredPng, ihdr, pngFile, seededRandom } from "./pngBuilder.mjs";

const PALETTE = [
  [0, 0, 0],
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [200, 100, 50],
];

/** Palette of n distinct colours. */
function paletteOf(n) {
  return Array.from({ length: n }, (_, i) => [(i * 37) % 256, (i * 91 + 13) % 256, (i * 53 + 101) % 256]);
}

function randomLabels(width, height, classes, seed) {
  const random = seededRandom(seed);
  const labels = new LabelBuffer(width, height);
  for (let i = 0; i < labels.data.length; i++) labels.data[i] = Math.floor(random() * classes);
  return labels;
}

/** Chunks of a PNG as [type, data] using plain Buffer reads (independent of the codec). */
function chunksOf(bytes) {
  const buf = Buffer.from(bytes);
  const chunks = [];
  for (let offset = 8; offset < buf.length; ) {
    const length = buf.readUInt32BE(offset);
    chunks.push([buf.toString("latin1", offset + 4, offset + 8), buf.subarray(offset + 8, offset + 8 + length)]);
    offset += 12 + length;
  }
  return chunks;
}

test("crc32 matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

for (const [width, height, classes] of [
  [128, 128, 19],
  [1, 1, 1],
  [7, 5, 3],
  [33, 17, 256],
  [255, 3, 12],
  [3, 129, 2],
]) {
  test(`indexed PNG round trip of random ${width}×${height} labels (${classes} classes)`, async () => {
    const palette = paletteOf(classes);
    const labels = randomLabels(width, height, classes, width * 1000 + height);
    const png = await encodeIndexedPng(labels, palette);
    const decoded = await labelsFromPng(png, palette);
    assert.ok(decoded.equals(labels));
    const raw = await decodePng(png);
    assert.equal(raw.colourType, 3);
    assert.deepEqual(raw.palette, palette);
  });
}

test("the encoder writes a standard indexed PNG that zlib and a plain chunk reader understand", async () => {
  const labels = randomLabels(9, 4, PALETTE.length, 7);
  const png = await encodeIndexedPng(labels, PALETTE);
  const chunks = chunksOf(png);
  assert.deepEqual(
    chunks.map(([type]) => type),
    ["IHDR", "PLTE", "IDAT", "IEND"],
  );
  assert.deepEqual([...chunks[0][1]], [...ihdr(9, 4, 8, 3)]);
  assert.deepEqual([...chunks[1][1]], PALETTE.flat());
  const rows = zlib.inflateSync(chunks[2][1]);
  assert.equal(rows.length, 4 * (1 + 9));
  for (let y = 0; y < 4; y++) {
    assert.equal(rows[y * 10], 0);
    assert.deepEqual([...rows.subarray(y * 10 + 1, y * 10 + 10)], [...labels.data.subarray(y * 9, y * 9 + 9)]);
  }
});

test("the encoder refuses class ids the palette does not cover", async () => {
  const labels = new LabelBuffer(2, 2);
  labels.set(1, 1, 5);
  await assert.rejects(encodeIndexedPng(labels, PALETTE), InvalidMask);
});

test("a hand-made 2×2 indexed PNG (stored deflate block) decodes to its indices", async () => {
  // Filter byte 0 then the two indices of each row.
  const raw = [0, 1, 2, 0, 3, 0];
  const adler = adler32(raw);
  const idat = [0x78, 0x01, 0x01, raw.length, 0x00, ~raw.length & 0xff, 0xff, ...raw];
  idat.push((adler >>> 24) & 0xff, (adler >>> 16) & 0xff, (adler >>> 8) & 0xff, adler & 0xff);
  const png = pngFile([
    ["IHDR", ihdr(2, 2, 8, 3)],
    ["PLTE", Uint8Array.from(PALETTE.slice(0, 4).flat())],
    ["IDAT", Uint8Array.from(idat)],
    ["IEND", new Uint8Array(0)],
  ]);
  const labels = await labelsFromPng(png, PALETTE);
  assert.deepEqual([labels.width, labels.height], [2, 2]);
  assert.deepEqual([...labels.data], [1, 2, 3, 0]);
});

function adler32(bytes) {
  let a = 1;
  let b = 0;
  for (const v of bytes) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// Written by Pillow (an independent encoder): a 3×2 RGB image and a 3×2 indexed image
// that Pillow stores at 2 bits per pixel.
const PILLOW_RGB_3X2 =
  "89504e470d0a1a0a0000000d49484452000000030000000208020000001216f14d0000001849444154789c63f8cfc0c000c15c2272ff" +
  "ffff67606000003da40637be5c53850000000049454e44ae426082";
const PILLOW_INDEXED_2BIT_3X2 =
  "89504e470d0a1a0a0000000d4948445200000003000000020203000000e01a8e8900000009504c5445000000c80a0a0ac80ab5b4bc52" +
  "0000000c49444154789c63906098000000dc00a96ce7c0230000000049454e44ae426082";

test("an RGB PNG written by Pillow decodes to its exact pixels", async () => {
  const png = await decodePng(Uint8Array.from(Buffer.from(PILLOW_RGB_3X2, "hex")));
  assert.deepEqual([png.width, png.height, png.colourType], [3, 2, 2]);
  assert.deepEqual([...png.pixels], [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 255, 255, 255, 0, 0, 0]);
});

test("a 2-bit indexed PNG written by Pillow decodes to its indices and palette", async () => {
  const bytes = Uint8Array.from(Buffer.from(PILLOW_INDEXED_2BIT_3X2, "hex"));
  const png = await decodePng(bytes);
  assert.deepEqual([...png.pixels], [0, 1, 2, 2, 1, 0]);
  assert.deepEqual(png.palette, [
    [0, 0, 0],
    [200, 10, 10],
    [10, 200, 10],
  ]);
  assert.deepEqual([...(await labelsFromPng(bytes, PALETTE)).data], [0, 1, 2, 2, 1, 0]);
});

for (const [name, colourType, step, levels] of [
  ["RGB", 2, 3, 256],
  ["RGBA", 6, 4, 256],
  ["indexed", 3, 1, 256],
  ["grey", 0, 1, 256],
  ["indexed, few values: Paeth ties", 3, 1, 8],
  ["RGB, few values: Paeth ties", 2, 3, 5],
]) {
  test(`all five row filters decode exactly (${name})`, async () => {
    const width = 6;
    const filters = [0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 4, 4, 4, 4];
    const random = seededRandom(colourType + levels);
    const rows = filters.map(() => Uint8Array.from({ length: width * step }, () => Math.floor(random() * levels)));
    const palette = colourType === 3 ? paletteOf(256) : null;
    const png = filteredPng({ width, height: rows.length, colourType, rows, filters, step, palette });
    const decoded = await decodePng(png);
    assert.deepEqual([...decoded.pixels], rows.flatMap((row) => [...row]));
  });
}

test("the image data may be split over several IDAT chunks", async () => {
  const labels = randomLabels(20, 10, PALETTE.length, 3);
  const png = await encodeIndexedPng(labels, PALETTE);
  const chunks = chunksOf(png);
  const idat = chunks.find(([type]) => type === "IDAT")[1];
  const cut = Math.floor(idat.length / 2);
  const split = pngFile([
    chunks[0],
    chunks[1],
    ["IDAT", idat.subarray(0, cut)],
    ["IDAT", idat.subarray(cut)],
    ["IEND", new Uint8Array(0)],
  ]);
  assert.ok((await labelsFromPng(split, PALETTE)).equals(labels));
});

function rgbPng(width, height, pixels, channels = 3) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(Uint8Array.from(pixels.slice(y * width * channels, (y + 1) * width * channels)));
  }
  return filteredPng({
    width,
    height,
    colourType: channels === 3 ? 2 : 6,
    rows,
    filters: rows.map((_, y) => y % 5),
    step: channels,
  });
}

test("RGB masks map palette colours to class ids, within ±1 per channel", async () => {
  const pixels = [0, 0, 0, 254, 1, 0, 0, 255, 0, 1, 1, 254, 199, 101, 51, 200, 100, 50];
  const labels = await labelsFromPng(rgbPng(3, 2, pixels), PALETTE);
  assert.deepEqual([...labels.data], [0, 1, 2, 3, 4, 4]);
});

test("RGBA masks ignore alpha", async () => {
  const pixels = [255, 0, 0, 0, 0, 0, 255, 128];
  const labels = await labelsFromPng(rgbPng(2, 1, pixels, 4), PALETTE);
  assert.deepEqual([...labels.data], [1, 3]);
});

test("the nearest of two palette colours within tolerance wins", async () => {
  const palette = [
    [10, 10, 10],
    [12, 12, 12],
  ];
  const labels = await labelsFromPng(rgbPng(3, 1, [11, 11, 11, 11, 12, 12, 12, 12, 11]), palette);
  assert.deepEqual([...labels.data], [0, 1, 1]);
});

test("unknown colours are reported with their pixel counts, most frequent first", async () => {
  const pixels = [
    ...[255, 0, 0],
    ...[7, 7, 7],
    ...[7, 7, 7],
    ...[253, 0, 0], // 2 away from class 1: unknown
    ...[7, 7, 7],
    ...[0, 0, 0],
  ];
  const error = await labelsFromPng(rgbPng(3, 2, pixels), PALETTE).then(
    () => assert.fail("expected UnknownColours"),
    (e) => e,
  );
  assert.ok(error instanceof UnknownColours);
  assert.ok(error instanceof InvalidMask);
  assert.deepEqual(error.colours, [
    { rgb: [7, 7, 7], pixels: 3 },
    { rgb: [253, 0, 0], pixels: 1 },
  ]);
  assert.match(error.message, /2 colours/);
  assert.match(error.message, /#070707 \(3 px\)/);
});

test("RGB masks need a palette whose colours are distinct", async () => {
  const palette = [
    [1, 2, 3],
    [1, 2, 3],
  ];
  await assert.rejects(labelsFromPng(rgbPng(1, 1, [1, 2, 3]), palette), /same colour/);
});

test("indexed masks with ids beyond the layout's classes are refused", async () => {
  const labels = new LabelBuffer(3, 1, Uint8Array.from([0, 4, 7]));
  const png = await encodeIndexedPng(labels, paletteOf(8));
  await assert.rejects(labelsFromPng(png, PALETTE), (e) => e instanceof InvalidMask && /7/.test(e.message));
});

test("interlaced, 16-bit and grey+alpha PNGs are refused with a clear message", async () => {
  const idat = zlib.deflateSync(Buffer.alloc(8));
  const withHeader = (header) =>
    pngFile([
      ["IHDR", header],
      ["IDAT", idat],
      ["IEND", new Uint8Array(0)],
    ]);
  await assert.rejects(decodePng(withHeader(ihdr(2, 2, 8, 2, 1))), /Interlaced/);
  await assert.rejects(decodePng(withHeader(ihdr(2, 2, 16, 2))), /16-bit/);
  await assert.rejects(decodePng(withHeader(ihdr(2, 2, 8, 4))), /colour type 4/);
  await assert.rejects(decodePng(withHeader(ihdr(2, 2, 4, 2))), /bit depth 4/);
});

test("damaged files are refused as InvalidMask, never as a crash", async () => {
  const good = await encodeIndexedPng(randomLabels(8, 8, 5, 1), PALETTE);
  await assert.rejects(decodePng(Uint8Array.from([1, 2, 3])), InvalidMask);
  await assert.rejects(decodePng(good.subarray(0, good.length - 20)), /truncated/);
  const flipped = good.slice();
  flipped[good.length - 20] ^= 0xff;
  await assert.rejects(decodePng(flipped), /checksum/);
  const garbage = pngFile([
    ["IHDR", ihdr(2, 2, 8, 3)],
    ["PLTE", Uint8Array.from(PALETTE.flat())],
    ["IDAT", Uint8Array.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0x00])],
    ["IEND", new Uint8Array(0)],
  ]);
  await assert.rejects(decodePng(garbage), InvalidMask);
  const short = pngFile([
    ["IHDR", ihdr(4, 4, 8, 2)],
    ["IDAT", zlib.deflateSync(Buffer.alloc(10))],
    ["IEND", new Uint8Array(0)],
  ]);
  await assert.rejects(decodePng(short), /truncated/);
  const badFilter = pngFile([
    ["IHDR", ihdr(1, 1, 8, 0)],
    ["IDAT", zlib.deflateSync(Buffer.from([9, 0]))],
    ["IEND", new Uint8Array(0)],
  ]);
  await assert.rejects(decodePng(badFilter), /filter type 9/);
});
