/**
 * Reads a .zip (a .vsix is one) without an unzip tool: the central directory's entries, stored or deflated. Enough
 * for the archives vsce writes (no ZIP64, no encryption); anything else throws.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  readonly name: string;
  data(): Buffer;
}

export function readZip(file: string): ZipEntry[] {
  const zip = readFileSync(file);
  // the end-of-central-directory record: the last 22 bytes, unless a comment follows it
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${file} is not a zip`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    entries.push({
      name,
      data: () => {
        const raw = zip.subarray(start, start + size);
        if (method === 0) return raw;
        if (method === 8) return inflateRawSync(raw);
        throw new Error(`${file}: ${name} uses compression method ${method}`);
      },
    });
  }
  return entries;
}

/** Writes every file entry under `dir` (entries naming a folder, or leaving `dir`, are skipped). */
export function extractZip(file: string, dir: string): void {
  for (const e of readZip(file)) {
    if (e.name.endsWith('/') || e.name.split('/').includes('..')) continue;
    mkdirSync(dirname(join(dir, e.name)), { recursive: true });
    writeFileSync(join(dir, e.name), e.data());
  }
}
