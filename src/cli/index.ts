import {cli} from './main.js';

process.exitCode = await cli(process.argv.slice(2));
