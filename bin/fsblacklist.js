#!/usr/bin/env node
// The installed command: the bundled build, nothing else loaded here.
import { main } from "../dist/main.js";

process.exitCode = await main(process.argv.slice(2));
