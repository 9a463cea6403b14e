// Benchmark: the size of the chatcast Docker image against its target (issue 12: at most 700 MB, down
// from 1.6 GB), with what takes the room: the image's layers, and the biggest parts measured inside it
// with du (Chromium, Node, node_modules, DVC's venv, ...). MB here are 10^6 bytes, as `docker images`
// counts them. Exit code 1 when the image is over the target.
// Run: npm run bench:image   (builds the image with `npm run image` first; `node bench/image.mjs
// [IMAGE]` measures an image already built, chatcast by default)
import { execFileSync } from 'node:child_process';

const IMAGE = process.argv[2] ?? process.env.CHATCAST_IMAGE ?? 'chatcast';
const TARGET_MB = 700;
// The parts worth watching, each a set of paths in the image (globs expanded by the image's shell).
const PARTS = [
  ['Chromium (headless shell)', '/usr/lib/chromium'],
  ['Node.js', '/usr/local/bin/node /usr/local/lib/node_modules'],
  ['app node_modules', '/app/node_modules'],
  ['app dist', '/app/dist'],
  ['DVC venv', '/opt/venv'],
  ['Python 3 (Debian)', '/usr/lib/python3* /usr/bin/python3*'],
  ['git', '/usr/lib/git-core /usr/bin/git /usr/share/git-core'],
  ['perl (modules)', '/usr/lib/*-linux-gnu/perl /usr/share/perl /usr/lib/*-linux-gnu/libperl*'],
  ['shared libraries', '/usr/lib/*-linux-gnu'],
  ['/usr/share', '/usr/share'],
];

const mb = (bytes) => bytes / 1e6;
const fmt = (bytes) => `${mb(bytes).toFixed(1).padStart(7)} MB`;
const docker = (args) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

let size;
try {
  size = Number(docker(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
} catch (error) {
  console.error(`bench:image: no image "${IMAGE}" (${String(error.stderr ?? error.message).trim().split('\n')[0]}): run npm run image first`);
  process.exit(2);
}

console.log(`image ${IMAGE}: ${docker(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).slice(0, 19)}, created ${docker(['image', 'inspect', '--format', '{{.Created}}', IMAGE])}`);
console.log('');
console.log('layers (non-empty, newest first)');
for (const line of docker(['history', '--human=false', '--no-trunc', '--format', '{{.Size}}\t{{.CreatedBy}}', IMAGE]).split('\n')) {
  const [bytes, ...rest] = line.split('\t');
  if (Number(bytes) === 0) continue;
  const by = rest.join('\t').replace(/^\/bin\/sh -c (#\(nop\) )?/, '').replace(/\s+/g, ' ');
  console.log(`  ${fmt(Number(bytes))}  ${by.length > 90 ? `${by.slice(0, 87)}...` : by}`);
}

// One container for all the du calls: apparent sizes would overstate sparse files, so disk usage in KiB.
const script = PARTS.map(([, paths]) => `du -skcx ${paths} 2>/dev/null | tail -n 1 | cut -f1`).join('; ');
const kib = docker(['run', '--rm', '--user', '0', '--entrypoint', 'sh', IMAGE, '-c', script]).split('\n').map(Number);
console.log('');
console.log('biggest parts (du inside the image: disk blocks, so many small files weigh more than in a layer;');
console.log('they overlap: the shared libraries include perl\'s, when it is there)');
PARTS.map(([name], i) => [name, kib[i] * 1024])
  .sort((a, b) => b[1] - a[1])
  .forEach(([name, bytes]) => console.log(`  ${fmt(bytes)}  ${(((bytes / size) * 100).toFixed(0) + '%').padStart(4)}  ${name}`));

const ok = mb(size) <= TARGET_MB;
console.log('');
console.log('measure             measured     target   result');
console.log(`image size        ${fmt(size)}  ≤ ${TARGET_MB} MB   ${ok ? 'PASS' : 'FAIL'}`);
process.exitCode = ok ? 0 : 1;
