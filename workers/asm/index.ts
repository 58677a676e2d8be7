/*
 * The assembler package's front door: `assemble()` turns NASM-style source held in a
 * virtual file system into a flat binary, a symbol table, a line map and a listing;
 * `disassemble()` turns bytes back into NASM-style text. Both are pure TypeScript with no
 * Node or DOM imports, so the browser's worker and the Node tools run the same code.
 * Reading order: lexer.ts, preprocessor.ts, expr.ts, parser.ts, encoder.ts, assembler.ts,
 * disasm.ts.
 */

export { assemble, LineMap, type AssembleOptions, type AssembleResult, type AsmSymbol, type LineMapEntry } from './assembler';
export { formatDiagnostic, type Diagnostic } from './diag';
export { disassemble, disassembleOne, formatListing, type DisasmLine, type DisasmOptions } from './disasm';
export { normalizePath, type FileData, type Vfs } from './vfs';
