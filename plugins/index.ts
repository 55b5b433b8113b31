import type { PluginModule } from '../core/plugin.js';
import electa from './electa/index.js';
import emalidate from './emalidate/index.js';
import { guardModules } from './guards/index.js';
import json from './encoders/json/index.js';
import jwt from './jwt/index.js';
import melissa from './melissa/index.js';
import memoryStore from './stores/memory/index.js';
import redisStore from './stores/redis/index.js';
import xdoc from './xdoc/index.js';

/** The plugins every tokensmith container loads; outside ones come from `--plugin PATH`. */
export const builtinModules: readonly PluginModule[] = [memoryStore, redisStore, ...guardModules, json, emalidate, jwt, melissa, electa, xdoc];
