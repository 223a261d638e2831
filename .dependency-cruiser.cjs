/**
 * Import rules: the layers of docs/architecture.md, bottom to top. A module may import from its
 * own layer's folder and from any folder below it, never above; no cycles between files.
 * `npm run check:imports` runs it; the test suite runs it too (test/architecture.test.ts).
 */
const LAYERS = [
  ['core'],
  ['targets'],
  ['hw-probes', 'models', 'parsers'],
  ['runners'],
  ['roofline'],
  ['harness'],
  ['analysis'],
  ['reporters'],
  ['history', 'publish'],
  ['cli'],
  // Benchmarks of the suite itself (npm run bench:*): may use any layer, and nothing imports them.
  ['bench'],
];

const folderRe = (folders) => `^(${folders.join('|')})/`;

const layerRules = LAYERS.flatMap((folders, i) => {
  const above = LAYERS.slice(i + 1).flat();
  if (above.length === 0) return [];
  return [
    {
      name: `no-upward-from-${folders.join('-')}`,
      comment: `${folders.join(', ')} may not import from a higher layer (${above.join(', ')})`,
      severity: 'error',
      from: { path: folderRe(folders) },
      to: { path: folderRe(above) },
    },
  ];
});

// Folders that share a layer stay independent of each other.
const siblingRules = LAYERS.filter((f) => f.length > 1).flatMap((folders) =>
  folders.map((f) => ({
    name: `no-sibling-from-${f}`,
    comment: `${f} does not import its sibling layer folders (${folders.filter((o) => o !== f).join(', ')})`,
    severity: 'error',
    from: { path: folderRe([f]) },
    to: { path: folderRe(folders.filter((o) => o !== f)) },
  })),
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles between files (and so none between folders)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    ...siblingRules,
    {
      name: 'report-layers-read-runners-through-registry',
      comment:
        'analysis, reporters, history and publish know runners only through their descriptors (runners/registry.ts): what a runner computes that reports also need belongs in core',
      severity: 'error',
      from: { path: '^(analysis|reporters|history|publish)/' },
      to: { path: '^runners/', pathNot: '^runners/registry\\.ts$' },
    },
    {
      name: 'no-test-from-source',
      comment: 'test/ is not part of the product: no source or benchmark imports from it (shared builders live in bench/synthetic/)',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    // test/ is cruised only as a destination (an import into it is a violation), never as a source.
    doNotFollow: { path: '^(node_modules|test)/' },
    exclude: { path: '^(node_modules|scratch|\\.cache|results)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.json'] },
  },
};
