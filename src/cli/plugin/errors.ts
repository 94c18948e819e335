// An error the plugin reports as one line and an exit code, without a stack.
//   1  the command could not do its job (object missing, API error)
//   2  bad usage (malformed target, unknown option value)
//   3  the ops request ended Failed
//   4  the ops request was Skipped
//   5  waiting for the ops request timed out (it may still finish)
export class PluginError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'PluginError';
  }
}

export const EXIT = { ok: 0, error: 1, usage: 2, failed: 3, skipped: 4, timeout: 5 } as const;
