// Generates dirs.tsv: directory CIDs from an independent implementation, ipfs-unixfs-importer@17
// (the JavaScript importer kubo's CIDs are cross-checked with), for the trees described in
// trees.txt. Run once, offline from the project:
//   mkdir /tmp/jsimp && cd /tmp/jsimp && npm install ipfs-unixfs-importer@17 blockstore-core@4
//   cp gen_dir_vectors.mjs trees.txt /tmp/jsimp/ && node gen_dir_vectors.mjs > dirs.tsv
// Entry spec (';'-separated): d:PATH (directory) or f:PATH=CONTENT, CONTENT as in files.tsv
// plus seq:N (N bytes, byte i = i % 251).
import { importer } from 'ipfs-unixfs-importer'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { readFileSync } from 'node:fs'

function content(spec) {
  if (spec === 'empty') return new Uint8Array(0)
  const [kind, arg] = [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)]
  if (kind === 'text') return new TextEncoder().encode(arg.replace(/\\n/g, '\n'))
  if (kind === 'hex') return Uint8Array.from(arg.match(/../g).map(h => parseInt(h, 16)))
  if (kind === 'zeros') return new Uint8Array(Number(arg))
  if (kind === 'seq') return Uint8Array.from({ length: Number(arg) }, (_, i) => i % 251)
  throw new Error('bad content ' + spec)
}

async function cidOf(spec, opts) {
  const entries = [{ path: 'root' }]
  for (const e of spec ? spec.split(';') : []) {
    if (e.startsWith('d:')) entries.push({ path: 'root/' + e.slice(2) })
    else {
      const eq = e.indexOf('=')
      entries.push({ path: 'root/' + e.slice(2, eq), content: content(e.slice(eq + 1)) })
    }
  }
  let last
  for await (const r of importer(entries, new MemoryBlockstore(), opts)) last = r
  if (last.path !== 'root') throw new Error('root is not last')
  return last.cid.toString()
}

const v0 = { cidVersion: 0, rawLeaves: false, chunker: undefined, wrapWithDirectory: false }
const v1 = { cidVersion: 1, rawLeaves: true, wrapWithDirectory: false }
for (const line of readFileSync('trees.txt', 'utf8').split('\n')) {
  if (!line || line.startsWith('#')) continue
  const [name, spec] = line.split('\t')
  console.log([name, spec, await cidOf(spec, v0), await cidOf(spec, v1)].join('\t'))
}
