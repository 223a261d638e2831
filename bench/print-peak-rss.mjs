// Preloaded with `node --import` into a child whose peak memory a benchmark reports: prints the
// process's peak resident set size (KiB, getrusage) on stderr as it exits.
process.on('exit', () => {
  process.stderr.write(`\npeak-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
