#!/usr/bin/env python3
"""Finds import cycles between the source files of Rust crates: exit 1 if any.

An edge A -> B means a file A names an item *defined* in file B; re-exports
(`pub use child::Item` in a mod.rs or lib.rs) are followed to the file that
defines the item, so a crate root that re-exports its children is not a
cycle. Test modules (after `#[cfg(test)]`) are ignored. Usage:
    scripts/module-cycles.py host/wasmig/src host/graph/src ...
"""
import os
import re
import sys

ITEM = re.compile(r'^\s*(?:pub(?:\([\w:]+\))?\s+)?(?:unsafe\s+)?(?:struct|enum|trait|fn|const|static|type|union|macro_rules!)\s+(\w+)', re.M)
USE = re.compile(r'^\s*(pub(?:\([\w:]+\))?\s+)?use\s+([^;]+);', re.M | re.S)


def modules(src):
    mods = {}
    for root, _, files in os.walk(src):
        for name in files:
            if name.endswith('.rs'):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, src)[:-3].split(os.sep)
                if rel[-1] in ('mod', 'lib', 'main'):
                    rel = rel[:-1]
                mods[tuple(rel)] = path
    return mods


def body(path):
    text = open(path).read().split('#[cfg(test)]')[0]
    text = re.sub(r'"(?:[^"\\]|\\[\s\S])*"', '""', text)
    return re.sub(r'//.*', '', text)


def expand(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r'\s+', '', tree)
    if '{' not in tree:
        return [tree]
    head, rest = tree.split('{', 1)
    inner = rest[:rest.rindex('}')]
    parts, depth, cur = [], 0, ''
    for ch in inner:
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
            continue
        depth += ch == '{'
        depth -= ch == '}'
        cur += ch
    if cur:
        parts.append(cur)
    return [head + p for part in parts if part for p in expand(part)]


class Crate:
    def __init__(self, src):
        self.mods = modules(src)
        self.text = {m: body(p) for m, p in self.mods.items()}
        self.items = {m: set(ITEM.findall(t)) for m, t in self.text.items()}
        self.uses = {m: [(bool(pub), path) for pub, tree in USE.findall(t) for path in expand(tree)] for m, t in self.text.items()}

    def absolute(self, module, parts):
        """`crate::`, `super::`, `self::` or child-relative `parts` as a path from the crate root."""
        if parts[0] == 'crate':
            return list(parts[1:])
        base = list(module)
        while parts and parts[0] in ('super', 'self'):
            if parts[0] == 'super':
                base = base[:-1]
            parts = parts[1:]
        return base + list(parts)

    def defining(self, parts, seen=()):
        """The module file that defines the item at absolute path `parts`."""
        for n in range(len(parts), -1, -1):
            module = tuple(parts[:n])
            if module in self.mods:
                rest = parts[n:]
                if not rest or rest[0] in self.items[module] or rest[0] in ('*', 'self'):
                    return module
                for _, path in self.uses[module]:
                    segs = path.split('::')
                    alias = segs[-1].split(' as ')[-1] if ' as ' in path else segs[-1]
                    if alias == rest[0] and (module, path) not in seen:
                        target = self.absolute(module, segs[:-1] + [segs[-1].split(' as ')[0]])
                        if target is not None:
                            return self.defining(target, seen + ((module, path),))
                return module
        return None

    def edges(self):
        edges = {m: set() for m in self.mods}
        for m, text in self.text.items():
            # A `pub use` only re-exports: the path it names is not a dependency of this file.
            refs = [path.split('::') for public, path in self.uses[m] if not public]
            code = USE.sub(lambda use: '' if use.group(1) else use.group(0), text)
            refs += [r.split('::') for r in re.findall(r'\b((?:crate|super|self)(?:::\w+)+)', code)]
            # Bare paths into a child module (`stamp::Inputs::new()` in lib.rs).
            refs += [r.split('::') for r in re.findall(r'(?<![:\w])(\w+(?:::\w+)+)', code)
                     if tuple(list(m) + [r.split('::')[0]]) in self.mods]
            for parts in refs:
                if parts[0] not in ('crate', 'super', 'self') and tuple(list(m) + [parts[0]]) not in self.mods:
                    continue
                parts = [p.split(' as ')[0] for p in parts]
                absolute = self.absolute(m, parts) if parts[0] in ('crate', 'super', 'self') else list(m) + parts
                if absolute is None:
                    continue
                target = self.defining(absolute)
                if target is not None and target != m:
                    edges[m].add(target)
        return edges


def cycles(edges):
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return found


def main():
    bad = False
    for src in sys.argv[1:]:
        for component in cycles(Crate(src).edges()):
            bad = True
            print(f"{src}: cycle: {' <-> '.join('::'.join(m) or 'crate root' for m in component)}")
    if not bad:
        print('no module cycles in', ', '.join(sys.argv[1:]))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
