// Draws the extension's icon, images/icon.png (128×128): a lens over a three-node graph. No image library: shapes
// as distance functions, 4×4 supersampling, a PNG written with node:zlib. Run: node scripts/draw-icon.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

const SIZE = 128;
const SAMPLES = 4;
const BACKGROUND = [31, 58, 95];
const LENS = [245, 185, 66];
const GRAPH = [236, 242, 248];

const length = (x, y) => Math.hypot(x, y);
/** distance to the segment a–b */
function segment(px, py, ax, ay, bx, by) {
  const t = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return length(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)));
}
/** signed distance to a rounded square centred at (cx, cy) */
function roundedSquare(px, py, cx, cy, half, radius) {
  const qx = Math.abs(px - cx) - half + radius;
  const qy = Math.abs(py - cy) - half + radius;
  return length(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

const nodes = [
  [44, 42],
  [70, 42],
  [57, 68],
];
/** the colour at a point, painted back to front; null outside the icon */
function colourAt(x, y) {
  if (roundedSquare(x, y, 64, 64, 62, 24) > 0) return null;
  let c = BACKGROUND;
  const edge = Math.min(segment(x, y, ...nodes[0], ...nodes[2]), segment(x, y, ...nodes[1], ...nodes[2]));
  if (edge < 2.5 || nodes.some(([nx, ny]) => roundedSquare(x, y, nx, ny, 7, 2) < 0)) c = GRAPH;
  if (Math.abs(length(x - 57, y - 55) - 34) < 5.5) c = LENS;
  if (segment(x, y, 82, 80, 110, 108) < 7) c = LENS;
  return c;
}

const rows = [];
for (let y = 0; y < SIZE; y++) {
  const row = Buffer.alloc(1 + SIZE * 4);
  for (let x = 0; x < SIZE; x++) {
    const sum = [0, 0, 0, 0];
    for (let sy = 0; sy < SAMPLES; sy++)
      for (let sx = 0; sx < SAMPLES; sx++) {
        const c = colourAt(x + (sx + 0.5) / SAMPLES, y + (sy + 0.5) / SAMPLES);
        if (!c) continue;
        for (let k = 0; k < 3; k++) sum[k] += c[k];
        sum[3]++;
      }
    const n = SAMPLES * SAMPLES;
    const alpha = sum[3] / n;
    for (let k = 0; k < 3; k++) row[1 + 4 * x + k] = sum[3] ? Math.round(sum[k] / sum[3]) : 0;
    row[1 + 4 * x + 3] = Math.round(255 * alpha);
  }
  rows.push(row);
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method variants, no interlace
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = join(import.meta.dirname, '..', 'images', 'icon.png');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, png);
console.log(`images/icon.png: ${SIZE}×${SIZE}, ${png.length} bytes`);
