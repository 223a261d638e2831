#!/usr/bin/env node
// Entry point for the `bench` command. The sources are TypeScript run through tsx,
// so a fresh clone needs no build step between `npm install` and `bench run`.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
