'use strict';
// Built-in runtime for nodejsN.x functions: speaks the Lambda Runtime API, runs the handler.
//
// It runs inside the sandbox under the function's own node, so it uses Node's standard library
// only, and talks HTTP/1.1 over a raw keep-alive socket: node:http costs a few milliseconds of
// every cold start, and its agent's sockets would keep the event loop alive, which the
// callbackWaitsForEmptyEventLoop semantics depend on (the socket is unreferenced while no
// request is outstanding, so 'beforeExit' means "the function left nothing pending").
// Handler semantics follow Lambda's Node.js runtime (aws-lambda-nodejs-runtime-interface-client):
// `file.export` or `dir/file.export` from /var/task (.js, .mjs, .cjs; ES modules and CommonJS),
// async and callback handlers, the context object, console lines prefixed with the time, request
// id and level, and errors reported as {errorType, errorMessage, trace}.

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');

const API = '/2018-06-01/runtime/';

// ---- errors, named as Lambda names them --------------------------------------------------------

function runtimeError(name) {
  const cls = class extends Error {};
  // On the prototype before any instance exists, so that each stack's first line carries it.
  Object.defineProperty(cls.prototype, 'name', { value: `Runtime.${name}`, writable: true });
  return cls;
}

const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const UnhandledPromiseRejection = runtimeError('UnhandledPromiseRejection');

function isError(value) {
  return (
    util.types.isNativeError(value) ||
    (value instanceof Object && typeof value.name === 'string' && typeof value.stack === 'string')
  );
}

// What the Runtime API is told: Lambda's document for an error, typeof for anything else thrown.
function errorDocument(error) {
  try {
    if (isError(error)) {
      return {
        errorType: String(error.name).replace(/\x7F/g, '%7F'),
        errorMessage: String(error.message).replace(/\x7F/g, '%7F'),
        trace: String(error.stack).replace(/\x7F/g, '%7F').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_ignored) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or ' +
        'more of its message, name, and stack',
    };
  }
}

// What the log shows: the error's own enumerable properties too, with its stack as lines.
function formatted(error) {
  const expand = (_key, value) => {
    if (!(value instanceof Error)) return value;
    const shown = { errorType: value.name, errorMessage: value.message, code: value.code };
    Object.assign(shown, value);
    if (typeof value.stack === 'string') shown.stack = value.stack.split('\n');
    return shown;
  };
  try {
    return '\t' + JSON.stringify(error, expand);
  } catch (_circular) {
    return '\t' + JSON.stringify(errorDocument(error));
  }
}

// ---- console: every line as Lambda's text format writes it -------------------------------------

let currentRequestId; // undefined during init, printed as such, as Lambda does

function patchConsole() {
  const levels = {
    trace: 'TRACE',
    debug: 'DEBUG',
    info: 'INFO',
    log: 'INFO',
    warn: 'WARN',
    error: 'ERROR',
    fatal: 'FATAL',
  };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => {
      const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
      // A multi-line message stays one log event: Lambda turns its newlines into carriage returns.
      process.stdout.write(line.replace(/\n/g, '\r') + '\n');
    };
  }
}

// ---- global.gc() -------------------------------------------------------------------------------

// Lambda starts node with --expose-gc. That is a V8 flag, and any V8 flag changes the hash that
// the code cache node embeds for its own modules is checked against: under it each built-in
// module a cold start loads (net, the ES module loader, http...) is compiled from source: 12 ms
// of CPU for this bootstrap alone (node 20 and 22), 20 ms more once http is loaded. So gc() is
// the same property, and the flag is set (the code cache then lost) only when a function first
// collects; a worker thread started before that has no gc() of its own.
function exposeGc() {
  if (typeof globalThis.gc === 'function') return; // NODE_OPTIONS=--expose-gc already gave it
  let collect = null;
  Object.defineProperty(globalThis, 'gc', {
    value: function gc(...options) {
      if (collect === null) {
        require('node:v8').setFlagsFromString('--expose-gc');
        collect = require('node:vm').runInNewContext('gc');
      }
      return collect(...options);
    },
    writable: true,
    enumerable: true,
    configurable: false,
  });
}

// ---- the Runtime API client --------------------------------------------------------------------

class RuntimeClient {
  constructor(address) {
    const colon = address.lastIndexOf(':');
    this.host = address.slice(0, colon);
    this.port = Number(address.slice(colon + 1));
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    this.waiting = null; // the outstanding request's {resolve, reject}
  }

  connect() {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse();
    });
    const lost = (error) => {
      if (this.socket === socket) this.socket = null;
      const waiting = this.waiting;
      this.waiting = null;
      if (waiting) waiting.reject(error || new Error('the Runtime API closed the connection'));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
  }

  request(method, target, body, headers) {
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    if (this.socket === null) this.connect();
    let head = `${method} ${target} HTTP/1.1\r\nHost: runtime\r\nContent-Length: ${payload.length}\r\n`;
    for (const [name, value] of headers || []) head += `${name}: ${value}\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.ref(); // an outstanding request keeps the process alive
      this.socket.write(Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]));
    });
  }

  parse() {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || this.waiting === null) return;
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] || 0);
    if (this.buffer.length < end + 4 + length) return;
    const body = this.buffer.subarray(end + 4, end + 4 + length);
    this.buffer = this.buffer.subarray(end + 4 + length);
    const waiting = this.waiting;
    this.waiting = null;
    if ((headers.connection || '').toLowerCase() === 'close') {
      // The API closes after refusing a body (an oversized response): reconnect next time.
      const socket = this.socket;
      this.socket = null;
      socket.destroy();
    } else {
      this.socket.unref(); // idle: the socket alone must not keep the event loop alive
    }
    waiting.resolve({ status: Number(lines[0].split(' ')[1]), headers, body });
  }

  next() {
    return this.request('GET', API + 'invocation/next');
  }

  respond(requestId, body) {
    return this.request('POST', `${API}invocation/${requestId}/response`, body);
  }

  fail(requestId, error) {
    return this.postError(`${API}invocation/${requestId}/error`, error);
  }

  failInit(error) {
    return this.postError(API + 'init/error', error);
  }

  postError(target, error) {
    const document = errorDocument(error);
    return this.request('POST', target, JSON.stringify(document), [
      ['Content-Type', 'application/json'],
      ['Lambda-Runtime-Function-Error-Type', document.errorType],
    ]);
  }
}

// ---- loading the handler -----------------------------------------------------------------------

function hasTypeModule(folder) {
  // The nearest package.json decides; node_modules and the root end the search.
  if (folder.endsWith('/node_modules')) return false;
  const manifest = path.join(folder, 'package.json');
  if (fs.existsSync(manifest)) {
    try {
      return JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
    } catch (error) {
      console.warn(
        `${manifest} cannot be read, it will be ignored for ES module detection purposes.`,
        error
      );
      return false;
    }
  }
  if (folder === '/') return false;
  return hasTypeModule(path.resolve(folder, '..'));
}

let layerResolution = false;

// ES modules do not read NODE_PATH: a bare import the function's own node_modules cannot
// satisfy is resolved from NODE_PATH's directories in order (the node<MAJOR> layer directory
// first), as Lambda's runtime lets ES modules import layer packages. Only when a layer brought
// such a directory: before node 22 the hooks run in a thread of their own, which costs a cold
// start as much as node's own start-up.
function resolveFromLayers() {
  if (layerResolution) return;
  layerResolution = true;
  const dirs = (process.env.NODE_PATH || '')
    .split(':')
    .filter((d) => d.endsWith('node_modules') && fs.existsSync(d));
  if (dirs.length === 0) return;
  const module = require('node:module');
  const parents = dirs.map((d) => require('node:url').pathToFileURL(path.join(d, '..', '_')).href);
  const bare = (specifier) => !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
  if (typeof module.registerHooks === 'function') {
    module.registerHooks({
      resolve(specifier, context, nextResolve) {
        try {
          return nextResolve(specifier, context);
        } catch (error) {
          if (error.code !== 'ERR_MODULE_NOT_FOUND' || !bare(specifier)) throw error;
          for (const parentURL of parents) {
            try {
              return nextResolve(specifier, { ...context, parentURL });
            } catch (_next) {
              // the next directory
            }
          }
          throw error;
        }
      },
    });
    return;
  }
  if (typeof module.register !== 'function') return;
  const hooks = `
    const parents = ${JSON.stringify(parents)};
    const bare = ${bare.toString()};
    export async function resolve(specifier, context, nextResolve) {
      try {
        return await nextResolve(specifier, context);
      } catch (error) {
        if (error.code !== 'ERR_MODULE_NOT_FOUND' || !bare(specifier)) throw error;
        for (const parentURL of parents) {
          try {
            return await nextResolve(specifier, { ...context, parentURL });
          } catch (_next) {}
        }
        throw error;
      }
    }`;
  module.register('data:text/javascript,' + encodeURIComponent(hooks));
}

function tryRequire(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function tryImport(file) {
  if (!fs.existsSync(file)) return undefined;
  resolveFromLayers();
  return import(require('node:url').pathToFileURL(file).href);
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequire(base);
  if (extensionless) return extensionless;
  const typeModule = hasTypeModule(path.dirname(base));
  if (!typeModule) {
    const commonjs = tryRequire(base + '.js');
    if (commonjs) return commonjs;
  }
  const loaded =
    (typeModule && (await tryImport(base + '.js'))) ||
    (await tryImport(base + '.mjs')) ||
    tryRequire(base + '.cjs');
  if (loaded) return loaded;
  // Neither a file of the task nor one beside it: a package (from NODE_PATH's directories too).
  return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

async function loadHandler(appRoot, handlerString) {
  if (handlerString.includes('..')) {
    throw new MalformedHandlerName("'..' is not allowed in handler name");
  }
  const file = path.basename(handlerString);
  const moduleRoot = handlerString.substring(0, handlerString.indexOf(file));
  const match = file.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, handlerPath] = match;
  let loaded;
  try {
    loaded = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserCodeSyntaxError(error);
    if (error && (error.code === 'MODULE_NOT_FOUND' || error.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new ImportModuleError(error);
    }
    throw error;
  }
  const handler = handlerPath.split('.').reduce((found, key) => found && found[key], loaded);
  if (!handler) throw new HandlerNotFound(`${handlerString} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${handlerString} is not a function`);
  return handler;
}

// ---- the invocation loop -----------------------------------------------------------------------

// What 'beforeExit' (the event loop ran empty) does now: nothing between invocations.
let onEmptyEventLoop = () => {};
// What an uncaught exception or unhandled rejection does now: during init, fail the init.
let onFatal = null;

function parseJson(text) {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (_ignored) {
    return undefined;
  }
}

function context(headers, callbackContext) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  // Descriptors, not values: callbackWaitsForEmptyEventLoop is an accessor the function sets.
  return Object.defineProperties(
    {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseJson(headers['lambda-runtime-client-context']),
      identity: parseJson(headers['lambda-runtime-cognito-identity']),
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: headers['lambda-runtime-aws-request-id'],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    },
    Object.getOwnPropertyDescriptors(callbackContext)
  );
}

function serialized(result) {
  try {
    return JSON.stringify(result === undefined ? null : result);
  } catch (_ignored) {
    throw new Error('Unable to stringify response body');
  }
}

async function invokeOnce(client, handler) {
  const { status, headers, body } = await client.next();
  if (status !== 200) throw new Error(`Runtime API answered ${status} to /next`);
  const requestId = headers['lambda-runtime-aws-request-id'];
  currentRequestId = requestId;
  if (headers['lambda-runtime-trace-id']) {
    process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  } else {
    delete process.env._X_AMZN_TRACE_ID;
  }
  return new Promise((finished) => {
    let done = false;
    const post = (send) => {
      onEmptyEventLoop = () => {};
      send().then(finished, (error) => {
        process.stderr.write(`the Runtime API failed: ${error}\n`);
        process.exit(1);
      });
    };
    const postError = (error) => {
      console.error('Invoke Error', formatted(error));
      post(() => client.fail(requestId, error));
    };
    const complete = (result) => {
      if (done) {
        console.error(
          'Invocation has already been reported as done. Cannot call complete more than once ' +
            'per invocation.'
        );
        return;
      }
      done = true;
      let payload;
      try {
        payload = serialized(result);
      } catch (error) {
        postError(error);
        return;
      }
      post(() => client.respond(requestId, payload));
    };
    const settle = (error, result) => {
      onEmptyEventLoop = () => {};
      if (error !== undefined && error !== null) {
        if (done) return;
        done = true;
        postError(error);
      } else {
        complete(result);
      }
    };
    let waitForEmptyEventLoop = true;
    const callback = (error, result) => {
      onEmptyEventLoop = () => {};
      if ((error !== undefined && error !== null) || !waitForEmptyEventLoop) {
        settle(error, result);
      } else {
        // Answered once everything the function started has finished, as Lambda does.
        onEmptyEventLoop = () => setImmediate(() => settle(null, result));
      }
    };
    const callbackContext = {
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value) {
        waitForEmptyEventLoop = value;
      },
      succeed: (result) => settle(null, result),
      fail: (error) => settle(error === undefined || error === null ? 'handled' : error),
      done: (error, result) => settle(error, result),
    };
    // A handler that neither returns a promise nor calls back answers null once nothing is left.
    onEmptyEventLoop = () => complete(undefined);
    onFatal = (error, exitCode) => {
      if (done) {
        process.exit(exitCode);
        return;
      }
      done = true;
      onEmptyEventLoop = () => {};
      client.fail(requestId, error).finally(() => process.exit(exitCode));
    };
    try {
      // An Invoke without a payload reaches the handler as null, as in the Python runtime.
      const event = body.length ? JSON.parse(body.toString('utf8')) : null;
      const result = handler(event, context(headers, callbackContext), callback);
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
        result.then(callbackContext.succeed, callbackContext.fail);
      }
    } catch (error) {
      settle(error);
    }
  });
}

async function main() {
  patchConsole();
  exposeGc();
  const client = new RuntimeClient(process.env.AWS_LAMBDA_RUNTIME_API);
  process.on('beforeExit', () => onEmptyEventLoop());
  process.on('uncaughtException', (error) => {
    console.error('Uncaught Exception', formatted(error));
    fatal(client, error, 129);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason && reason.toString(), promise);
    console.error('Unhandled Promise Rejection', formatted(error));
    fatal(client, error, 128);
  });
  let handler;
  try {
    handler = await loadHandler(process.env.LAMBDA_TASK_ROOT, process.env._HANDLER);
  } catch (error) {
    console.error('Uncaught Exception', formatted(error));
    fatal(client, error, 129);
    return;
  }
  for (;;) {
    await invokeOnce(client, handler);
  }
}

function fatal(client, error, exitCode) {
  if (onFatal !== null) {
    onFatal(error, exitCode);
    return;
  }
  onFatal = () => {}; // one init error only
  client.failInit(error).finally(() => process.exit(exitCode));
}

main().catch((error) => {
  // The Runtime API went away (the environment is being torn down): nothing left to report to.
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
