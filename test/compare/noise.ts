/** Moved to bench/synthetic/ so benchmarks share it without importing from test/ (import rule). */
export * from '../../bench/synthetic/noise.ts';
