/*
 * Diagnostics: every error and warning the assembler reports carries the file, line and
 * column it is about and a plain message. They are collected, never thrown, so a student
 * sees all the mistakes in one go. Lines are 1-based, columns 1-based.
 */

export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Where a line of (preprocessed) source came from. */
export interface Origin {
  file: string;
  /** 1-based line number in `file` */
  line: number;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
}
