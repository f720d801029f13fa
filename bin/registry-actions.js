#!/usr/bin/env node
// The command-line tool: the same library as the actions, bundled into dist/cli.
import '../dist/cli/index.js';
