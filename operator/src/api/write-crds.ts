import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CRD_FILE, renderCrdYaml } from './glance-service-crd.js';

// `npm run gen:crds`, from the repository root.
const target = path.resolve(process.cwd(), CRD_FILE);
mkdirSync(path.dirname(target), { recursive: true });
writeFileSync(target, renderCrdYaml());
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
