/**
 * A small turntable preview of a coloured mesh on a 2D canvas: the vertices splatted
 * through a z-buffer (orthographic, turning about the vertical axis), each shaded by its
 * normal against a light from the viewer. No WebGL and no library: light enough for a
 * preview of ~30k vertices at 192² pixels.
 */

const SPLAT = 2; // pixels a side per vertex
const AMBIENT = 0.35;

/** The centre and half-extent of the vertices (x, y, z interleaved). */
export function boundsOf(positions) {
  const low = [Infinity, Infinity, Infinity];
  const high = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i += 3) {
    for (let axis = 0; axis < 3; axis += 1) {
      low[axis] = Math.min(low[axis], positions[i + axis]);
      high[axis] = Math.max(high[axis], positions[i + axis]);
    }
  }
  const centre = low.map((value, axis) => (value + high[axis]) / 2);
  const extent = Math.max(...high.map((value, axis) => value - low[axis])) / 2 || 1;
  return { centre, extent };
}

/** Draw `mesh` (from `readGlbMesh`) turned by `angle` radians into an `ImageData`. */
export function drawTurntableFrame(image, mesh, angle, bounds = boundsOf(mesh.positions)) {
  const { width, height, data } = image;
  const depth = new Float32Array(width * height).fill(-Infinity);
  data.fill(0);
  for (let p = 3; p < data.length; p += 4) data[p] = 255;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const scale = (0.45 * Math.min(width, height)) / bounds.extent;
  const { positions, normals, colors } = mesh;
  for (let v = 0; v < mesh.count; v += 1) {
    const x = positions[3 * v] - bounds.centre[0];
    const y = positions[3 * v + 1] - bounds.centre[1];
    const z = positions[3 * v + 2] - bounds.centre[2];
    const turnedX = cos * x + sin * z;
    const turnedZ = -sin * x + cos * z;
    const facing = normals ? -sin * normals[3 * v] + cos * normals[3 * v + 2] : 1;
    if (facing < 0) continue; // a back face: the front of the surface covers it
    const shade = AMBIENT + (1 - AMBIENT) * facing;
    const column = Math.round(width / 2 + turnedX * scale);
    const row = Math.round(height / 2 - y * scale);
    for (let dy = 0; dy < SPLAT; dy += 1) {
      for (let dx = 0; dx < SPLAT; dx += 1) {
        const c = column + dx;
        const r = row + dy;
        if (c < 0 || r < 0 || c >= width || r >= height) continue;
        const pixel = r * width + c;
        if (turnedZ <= depth[pixel]) continue;
        depth[pixel] = turnedZ;
        for (let channel = 0; channel < 3; channel += 1) {
          const colour = colors ? colors[4 * v + channel] : 200;
          data[4 * pixel + channel] = Math.min(255, colour * shade);
        }
      }
    }
  }
  return image;
}

/**
 * Turn `mesh` on `canvas` (one turn per `periodMs`) until the returned stop function is
 * called (or a new mesh is shown in its place).
 */
export function startTurntable(canvas, mesh, periodMs = 6000) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(canvas.width, canvas.height);
  const bounds = boundsOf(mesh.positions);
  let frame = 0;
  let stopped = false;
  const draw = (time) => {
    if (stopped) return;
    drawTurntableFrame(image, mesh, (2 * Math.PI * time) / periodMs, bounds);
    context.putImageData(image, 0, 0);
    canvas.dataset.frames = String(Number(canvas.dataset.frames ?? 0) + 1);
    frame = requestAnimationFrame(draw);
  };
  frame = requestAnimationFrame(draw);
  return () => {
    stopped = true;
    cancelAnimationFrame(frame);
  };
}
