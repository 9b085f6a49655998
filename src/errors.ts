// The only error types commands throw on purpose. main.ts is the one place that
// turns them into exit codes (PRODUCT.md: 1 runtime failure, 2 usage or bad input).

export class FsbError extends Error {
  readonly exitCode: 1 | 2;
  /** What the user can do about it, printed after the message. */
  readonly hint: string | undefined;
  /**
   * What the run knew when it failed (the plan, what was written): with --json,
   * main.ts prints it beside the error, so a script still gets one document.
   */
  report: Record<string, unknown> | undefined;

  constructor(message: string, exitCode: 1 | 2, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
    this.report = undefined;
  }
}

/** Bad arguments, bad input files, or a command that cannot run in this situation. Exit 2. */
export class UsageError extends FsbError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** Something failed while doing the work; nothing was left half-written. Exit 1. */
export class RuntimeFailure extends FsbError {
  constructor(message: string, hint?: string, options?: { cause?: unknown; report?: Record<string, unknown> }) {
    super(message, 1, hint);
    if (options?.cause !== undefined) this.cause = options.cause;
    this.report = options?.report;
  }
}

/** The errno code of a Node.js system error, if it is one. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}
