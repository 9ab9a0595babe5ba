// A stand-in for an AWS SDK client in unit tests: it answers each command from a handler chosen by
// the command's name and records what was sent, so a test can pin down the calls an operation makes.

export type ScriptedHandler = (input: Record<string, unknown>) => unknown;

export interface SentCommand {
  /** The command's name without `Command`, e.g. `GetQueueUrl`. */
  command: string;
  input: Record<string, unknown>;
}

interface CommandLike {
  constructor: { name: string };
  input: Record<string, unknown>;
}

/**
 * `scriptedClient<SQSClient>({ GetQueueUrl: () => ({ QueueUrl }) })`: a handler's return value is
 * the command's output, what it throws is the command's error; a command without a handler fails.
 */
export function scriptedClient<C extends { send: unknown }>(
  handlers: Readonly<Record<string, ScriptedHandler>>,
): { client: Pick<C, 'send'>; sent: SentCommand[] } {
  const sent: SentCommand[] = [];
  const send = (command: CommandLike): Promise<unknown> => {
    const name = command.constructor.name.replace(/Command$/, '');
    sent.push({ command: name, input: command.input });
    const handler = handlers[name];
    if (!handler) return Promise.reject(new Error(`scripted client has no answer for ${name}`));
    try {
      return Promise.resolve(handler(command.input));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return { client: { send }, sent };
}
