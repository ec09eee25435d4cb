/**
 * Everything wrong with a configuration, reported together so an operator can fix it in one pass. Each problem
 * reads `<file or $ENV_VAR>:<section>:<key>: <what is wrong>` and never quotes a secret.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
