/**
 * Reading a glTF binary (GLB) mesh: the first primitive's positions, normals, vertex
 * colours, `_CLASS` ids and triangle indices as typed arrays. Pure: no DOM.
 */

const GLB_MAGIC = 0x46546c67; // "glTF"
const JSON_CHUNK = 0x4e4f534a;
const BIN_CHUNK = 0x004e4942;
const COMPONENTS = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 };
const TYPED = {
  5121: Uint8Array,
  5123: Uint16Array,
  5125: Uint32Array,
  5126: Float32Array,
};

/** The JSON document and binary chunk of GLB bytes (an `ArrayBuffer`). */
export function glbChunks(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 20 || view.getUint32(0, true) !== GLB_MAGIC) {
    throw new Error("The mesh file is not a glTF binary (GLB).");
  }
  let offset = 12;
  let document = null;
  let binary = null;
  while (offset + 8 <= buffer.byteLength) {
    const length = view.getUint32(offset, true);
    const type = view.getUint32(offset + 4, true);
    const body = buffer.slice(offset + 8, offset + 8 + length);
    if (type === JSON_CHUNK) document = JSON.parse(new TextDecoder().decode(body));
    if (type === BIN_CHUNK) binary = body;
    offset += 8 + length;
  }
  if (!document || !binary) throw new Error("The GLB has no JSON or binary chunk.");
  return { document, binary };
}

/** One accessor's values as a typed array of count × components (tightly packed). */
export function readAccessor(document, binary, index) {
  const accessor = document.accessors[index];
  const bufferView = document.bufferViews[accessor.bufferView];
  const Typed = TYPED[accessor.componentType];
  if (!Typed) throw new Error(`GLB component type ${accessor.componentType} is not read here.`);
  const components = COMPONENTS[accessor.type];
  const size = Typed.BYTES_PER_ELEMENT;
  const stride = bufferView.byteStride ?? components * size;
  const start = (bufferView.byteOffset ?? 0) + (accessor.byteOffset ?? 0);
  const out = new Typed(accessor.count * components);
  const view = new DataView(binary);
  const read = {
    1: (at) => view.getUint8(at),
    2: (at) => view.getUint16(at, true),
    4: Typed === Float32Array ? (at) => view.getFloat32(at, true) : (at) => view.getUint32(at, true),
  }[size];
  for (let item = 0; item < accessor.count; item += 1) {
    for (let c = 0; c < components; c += 1) out[item * components + c] = read(start + item * stride + c * size);
  }
  return out;
}

/**
 * The first primitive of a GLB: `{ positions, normals, colors, classes, indices, count }`
 * (colours RGBA 0–255; `normals`, `colors`, `classes` null when absent).
 */
export function readGlbMesh(buffer) {
  const { document, binary } = glbChunks(buffer);
  const primitive = document.meshes?.[0]?.primitives?.[0];
  if (primitive?.attributes?.POSITION === undefined) throw new Error("The GLB holds no mesh.");
  const attribute = (name) =>
    primitive.attributes[name] === undefined ? null : readAccessor(document, binary, primitive.attributes[name]);
  const positions = attribute("POSITION");
  return {
    positions,
    normals: attribute("NORMAL"),
    colors: attribute("COLOR_0"),
    classes: attribute("_CLASS"),
    indices: primitive.indices === undefined ? null : readAccessor(document, binary, primitive.indices),
    count: positions.length / 3,
  };
}
