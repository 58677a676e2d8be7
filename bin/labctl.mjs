#!/usr/bin/env node
// labctl: the lab's headless command-line runner. The TypeScript sources run directly
// through tsx, so the command line and the browser run the very same worker code.
import { tsImport } from 'tsx/esm/api';

const { main } = await tsImport('../tools/labctl/main.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
