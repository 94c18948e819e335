// Writes the generated parts of the Helm chart (deploy/helm/pgtls: crds/,
// files/, the values table in README.md); see src/install/chart-files.ts.
// Run: npm run gen
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../src/util/repo.ts';
import { CHART_DIR, renderChartFiles, renderReadme } from '../src/install/chart-files.ts';

const chart = join(repoRoot(), CHART_DIR);
const files = renderChartFiles();
// crds/ and files/ hold only generated files: drop what no longer is.
for (const dir of ['crds', 'files']) {
  mkdirSync(join(chart, dir), { recursive: true });
  for (const f of readdirSync(join(chart, dir))) if (!files.has(`${dir}/${f}`)) rmSync(join(chart, dir, f));
}
for (const [rel, text] of files) {
  mkdirSync(dirname(join(chart, rel)), { recursive: true });
  writeFileSync(join(chart, rel), text);
}
const readme = join(chart, 'README.md');
writeFileSync(readme, renderReadme(readFileSync(readme, 'utf8'), readFileSync(join(chart, 'values.yaml'), 'utf8')));
console.log(`wrote ${files.size} files and the values table under ${CHART_DIR}`);
