// The page's GLB reader and turntable preview, on a GLB built here the way trimesh lays
// one out (JSON chunk, BIN chunk, one primitive with POSITION, NORMAL, COLOR_0, _CLASS).

import assert from "node:assert/strict";
import { test } from "node:test";

import { readGlbMesh } from "../../frontend/src/mesh/glb.js";
import { boundsOf, drawTurntableFrame } from "../../frontend/src/mesh/turntable.js";

function glbOf({ positions, normals, colors, classes, indices }) {
  const parts = [new Float32Array(positions), new Float32Array(normals), new Uint8Array(colors),
    new Float32Array(classes), new Uint32Array(indices)];
  const views = [];
  let offset = 0;
  for (const part of parts) {
    views.push({ buffer: 0, byteOffset: offset, byteLength: part.byteLength });
    offset += part.byteLength;
  }
  const count = positions.length / 3;
  const document = {
    asset: { version: "2.0" },
    buffers: [{ byteLength: offset }],
    bufferViews: views,
    accessors: [
      { bufferView: 0, componentType: 5126, count, type: "VEC3" },
      { bufferView: 1, componentType: 5126, count, type: "VEC3" },
      { bufferView: 2, componentType: 5121, count, type: "VEC4", normalized: true },
      { bufferView: 3, componentType: 5126, count, type: "SCALAR" },
      { bufferView: 4, componentType: 5125, count: indices.length, type: "SCALAR" },
    ],
    meshes: [{ primitives: [{ attributes: { POSITION: 0, NORMAL: 1, COLOR_0: 2, _CLASS: 3 }, indices: 4 }] }],
  };
  let json = new TextEncoder().encode(JSON.stringify(document));
  json = Uint8Array.from([...json, ...Array((4 - (json.length % 4)) % 4).fill(32)]);
  const total = 12 + 8 + json.length + 8 + offset;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x46546c67, true);
  view.setUint32(4, 2, true);
  view.setUint32(8, total, true);
  view.setUint32(12, json.length, true);
  view.setUint32(16, 0x4e4f534a, true);
  out.set(json, 20);
  const bin = 20 + json.length;
  view.setUint32(bin, offset, true);
  view.setUint32(bin + 4, 0x004e4942, true);
  let at = bin + 8;
  for (const part of parts) {
    out.set(new Uint8Array(part.buffer), at);
    at += part.byteLength;
  }
  return out.buffer;
}

const TRIANGLE = {
  positions: [0, 0, 0, 1, 0, 0, 0, 1, 0],
  normals: [0, 0, 1, 0, 0, 1, 0, 0, 1],
  colors: [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255],
  classes: [1, 13, 7],
  indices: [0, 1, 2],
};

test("a GLB's positions, normals, colours, classes and indices are read back", () => {
  const mesh = readGlbMesh(glbOf(TRIANGLE));
  assert.equal(mesh.count, 3);
  assert.deepEqual([...mesh.positions], TRIANGLE.positions);
  assert.deepEqual([...mesh.normals], TRIANGLE.normals);
  assert.deepEqual([...mesh.colors], TRIANGLE.colors);
  assert.deepEqual([...mesh.classes], TRIANGLE.classes);
  assert.deepEqual([...mesh.indices], TRIANGLE.indices);
});

test("bytes that are not a GLB are refused with a sentence", () => {
  assert.throws(() => readGlbMesh(new ArrayBuffer(32)), /not a glTF binary/);
});

test("the turntable draws front faces in their colours and hides back faces", () => {
  const mesh = readGlbMesh(glbOf(TRIANGLE));
  const image = { width: 32, height: 32, data: new Uint8ClampedArray(32 * 32 * 4) };
  drawTurntableFrame(image, mesh, 0, boundsOf(mesh.positions));
  const lit = [];
  for (let p = 0; p < image.data.length; p += 4) if (image.data[p] + image.data[p + 1] + image.data[p + 2]) lit.push(p);
  assert.ok(lit.length >= 3 * 4, "each vertex splats a few pixels");
  const reds = lit.filter((p) => image.data[p] > 200 && image.data[p + 1] === 0);
  assert.ok(reds.length > 0, "the red vertex is drawn red (lit head-on)");
  drawTurntableFrame(image, mesh, Math.PI, boundsOf(mesh.positions));
  assert.ok(image.data.every((value, index) => index % 4 === 3 || value === 0), "turned away: nothing");
});
