// wasmig's shared JavaScript interpreter plugin: runs `kind = "js"` revisions.
//
// One component for every JavaScript revision (docs/GUESTS.md,
// "JavaScript"): at each hook it reads the revision's revision.js through
// the contract's `asset`, evaluates it, and calls its `up`, `down` or
// `verify` through wasmig-hooks.js, exactly as a revision's own component
// does. The host instantiates the plugin afresh for every hook, so nothing
// one revision leaves in the engine reaches the next.
//
// The engine cannot load an ES module from a string at run time, so the
// revision's module is turned into a function body first: acorn (bundled,
// the version pinned in sdk/toolchains/js) parses it, the `import`
// declarations become bindings to the SDK's namespace (or a helper module
// beside revision.js, read the same way), the `export` keywords are removed
// and the exported names returned. Every line stays where it was, and the
// code is evaluated under the file's own name (`//# sourceURL`), so errors
// point at the revision's own file and line.

import { Parser } from './acorn.mjs';
import * as sdk from './wasmig.js';
import * as rawDb from 'wasmig:revision/db@0.1.1';
import * as rawContext from 'wasmig:revision/context@0.1.1';
import { revisionHooks } from './wasmig-hooks.js';

const ENTRY = 'revision.js';

// What a revision may import besides the files of its own directory. The
// contract's interfaces answer to every version of the contract a revision
// may have been written for: 0.1.1 only added to 0.1.0, so a revision.js
// importing the 0.1.0 names keeps working with the same modules.
const BUILT_IN = new Map([
  ['./wasmig.js', sdk],
  ['wasmig', sdk],
  ['wasmig:revision/db@0.1.0', rawDb],
  ['wasmig:revision/context@0.1.0', rawContext],
  ['wasmig:revision/db@0.1.1', rawDb],
  ['wasmig:revision/context@0.1.1', rawContext],
]);

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A module's source could not be turned into a function: said with the file and line. */
class ModuleError extends SyntaxError {
  constructor(file, line, message) {
    super(`${message} (at ${file}:${line})`);
    this.name = 'SyntaxError';
    // The place is in the message: no frame of the plugin's own should be named.
    this.stack = '';
  }
}

function readSource(file) {
  const bytes = rawContext.asset(file);
  if (bytes === undefined || bytes === null) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ModuleError(file, 1, `${file} is not valid UTF-8`);
  }
}

// Identifiers a binding pattern declares (`const { a, b: [c] } = ...`).
function boundNames(pattern, out) {
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name);
      break;
    case 'ObjectPattern':
      for (const property of pattern.properties) boundNames(property.type === 'RestElement' ? property.argument : property.value, out);
      break;
    case 'ArrayPattern':
      for (const element of pattern.elements) if (element) boundNames(element, out);
      break;
    case 'RestElement':
      boundNames(pattern.argument, out);
      break;
    case 'AssignmentPattern':
      boundNames(pattern.left, out);
      break;
    default:
      break;
  }
  return out;
}

function nameOf(node) {
  return node.type === 'Literal' ? String(node.value) : node.name;
}

/** Blanks `units[start, end)`, keeping its line breaks. */
function blank(units, start, end) {
  for (let i = start; i < end; i += 1) {
    if (units[i] !== '\n' && units[i] !== '\r') units[i] = ' ';
  }
}

/**
 * The module `source` of `file` as the text of a function of `__wasmig_import`
 * that returns its exports: same lines, same columns but on line 1.
 */
export function moduleToFunction(file, source) {
  let program;
  try {
    program = Parser.parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  } catch (error) {
    const line = error.loc ? error.loc.line : 1;
    throw new ModuleError(file, line, String(error.message).replace(/ \(\d+:\d+\)$/, ''));
  }
  // acorn's offsets count UTF-16 units, as split('') does.
  const units = source.split('');
  const bindings = [];
  const exported = [];
  for (const node of program.body) {
    const line = node.loc.start.line;
    switch (node.type) {
      case 'ImportDeclaration': {
        const index = bindings.length;
        const from = JSON.stringify(node.source.value);
        const parts = [];
        for (const specifier of node.specifiers) {
          const local = specifier.local.name;
          if (specifier.type === 'ImportNamespaceSpecifier') {
            parts.push(`const ${local} = __wasmig_ns${index};`);
          } else {
            const imported = specifier.type === 'ImportDefaultSpecifier' ? 'default' : nameOf(specifier.imported);
            parts.push(`const ${local} = __wasmig_ns${index}[${JSON.stringify(imported)}];`);
            parts.push(`__wasmig_has(__wasmig_ns${index}, ${JSON.stringify(imported)}, ${from}, ${line});`);
          }
        }
        bindings.push(`const __wasmig_ns${index} = __wasmig_import(${from}, ${line}); ${parts.join(' ')}`);
        blank(units, node.start, node.end);
        break;
      }
      case 'ExportNamedDeclaration': {
        if (node.source) {
          throw new ModuleError(file, line, `re-exports (export ... from ${JSON.stringify(node.source.value)}) are not supported in a kind = "js" revision`);
        }
        if (node.declaration) {
          const declaration = node.declaration;
          if (declaration.type === 'VariableDeclaration') {
            for (const declarator of declaration.declarations) {
              for (const name of boundNames(declarator.id, [])) exported.push([name, name]);
            }
          } else {
            exported.push([declaration.id.name, declaration.id.name]);
          }
          blank(units, node.start, declaration.start);
        } else {
          for (const specifier of node.specifiers) exported.push([nameOf(specifier.exported), specifier.local.name]);
          blank(units, node.start, node.end);
        }
        break;
      }
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        throw new ModuleError(
          file,
          line,
          `${node.type === 'ExportAllDeclaration' ? 'export *' : 'export default'} is not supported in a kind = "js" revision: export the hooks by name (export function up() { ... })`,
        );
      default:
        break;
    }
  }
  const returned = exported.map(([name, local]) => `${JSON.stringify(name)}: ${local}`).join(', ');
  // Imports are hoisted in a module: their bindings come first, on line 1.
  return `'use strict'; ${bindings.join(' ')} ${units.join('')}\n;return { ${returned} };`;
}

function has(namespace, name, from, line) {
  if (!(name in namespace)) {
    throw new ModuleError(ENTRY, line, `the module ${from} has no export named '${name}'`);
  }
}

/** Evaluates `file` (and the helper modules it imports) for this hook. */
function evaluate(file, loaded, importer, line) {
  const known = loaded.get(file);
  if (known === null) throw new ModuleError(importer, line, `${file} imports itself (a cycle of modules) and cannot be loaded`);
  if (known) return known;
  const source = readSource(file);
  if (source === undefined) {
    if (file === ENTRY) throw `${ENTRY} is missing from the revision's directory (a kind = "js" revision runs it)`;
    throw new ModuleError(importer, line, `cannot import './${file}': there is no such file beside revision.js`);
  }
  loaded.set(file, null);
  const body = moduleToFunction(file, source);
  // Indirect eval: global scope, and the file's own name in stacks.
  const make = (0, eval)(`(function (__wasmig_import, __wasmig_has) {${body}\n})\n//# sourceURL=${file}`);
  const namespace = Object.freeze(
    make((specifier, at) => resolve(specifier, loaded, file, at), has),
  );
  loaded.set(file, namespace);
  return namespace;
}

function resolve(specifier, loaded, importer, line) {
  const builtIn = BUILT_IN.get(specifier);
  if (builtIn) return builtIn;
  const local = /^\.\/([A-Za-z0-9_.-]+\.m?js)$/.exec(specifier);
  if (local && local[1] !== ENTRY) return evaluate(local[1], loaded, importer, line);
  throw new ModuleError(
    importer,
    line,
    `cannot import '${specifier}': a kind = "js" revision can import './wasmig.js' and the .js/.mjs files beside its revision.js ('./helper.js'); for npm packages make it a component revision (kind = "component", built by \`wasmig build\`)`,
  );
}

export const { up, down, verify } = revisionHooks(() => evaluate(ENTRY, new Map(), ENTRY, 1));
