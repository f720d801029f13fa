import {runAction} from '../../shared/action/run.js';
import {main} from './main.js';

await runAction(main);
