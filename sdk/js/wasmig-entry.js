// The entry module `wasmig build` wraps around a JavaScript revision.
//
// It exports the world's `up`, `down` and `verify` by calling the author's
// module revision.js through wasmig-hooks.js, which turns anything thrown
// into an error message and sends `console.*` to the log.
//
// This module's top level runs at build time, when the host is not there:
// nothing here calls the host before a hook runs.

import * as revision from './revision.js';
import { revisionHooks } from './wasmig-hooks.js';

export const { up, down, verify } = revisionHooks(() => revision);
