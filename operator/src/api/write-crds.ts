import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CRD_FILE, renderCrdYaml } from './glance-service-crd.js';
import { IMAGE_CRD_FILE, renderImageCrdYaml } from './image-crd.js';

// `npm run gen:crds`, from the repository root.
for (const [file, text] of [
  [CRD_FILE, renderCrdYaml()],
  [IMAGE_CRD_FILE, renderImageCrdYaml()],
] as const) {
  const target = path.resolve(process.cwd(), file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
}
