// A pthread of tfjs-backend-wasm's threaded build, started by backend.ts (see startPthreadWorkers): Node cannot start
// the `blob:` URL Emscripten asks for, so this file starts instead and runs the package's own worker code, which
// ships as a string (the `wasmWorkerContents` export of its *.worker.js). That code expects `require` and
// `__filename` (its location, used to resolve nothing else here); its "\n" escapes must stay escapes in the source.
'use strict';
const { workerData } = require('node:worker_threads');

const { workerCode, glue } = workerData;
const source = require(workerCode).wasmWorkerContents;
new Function('require', '__filename', source.replace(/\n/g, '\\n'))(require, glue);
