import { pack, type Pack } from 'tar-stream';

/** A whole tar in memory: `addEntries` writes every entry (synchronously, from buffers), then the archive is closed. */
export async function packTar(addEntries: (tar: Pack) => void): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  addEntries(p);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
