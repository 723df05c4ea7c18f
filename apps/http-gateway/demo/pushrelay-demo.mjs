#!/usr/bin/env node
// The offline demo (what `npm start` runs): needs `tsc --build apps/http-gateway/tsconfig.demo.json`.
import { main } from '../dist/demo/main.js';

process.exitCode = await main(process.argv.slice(2));
