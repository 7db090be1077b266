import { SMTPServer } from 'smtp-server';
import { freePort } from './server-process.ts';

export interface ReceivedMail {
  to: string[];
  raw: string;
}

/** A real SMTP server on loopback that keeps what it receives. */
export function startSmtpServer(): Promise<{
  port: number;
  received: ReceivedMail[];
  close(): Promise<void>;
}> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8');
      });
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((recipient) => recipient.address), raw });
        callback();
      });
    },
  });
  const port = freePort();
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () =>
      resolve({ port, received, close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

/** The value of `name=` in a link of the message (quoted-printable soft breaks joined first). */
export function linkParameter(raw: string, name: string, prefix: string): string {
  const unfolded = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const match = new RegExp(`${name}=(${prefix}[A-Za-z0-9_-]+)`).exec(unfolded);
  if (!match?.[1]) throw new Error(`no ${name} link in:\n${raw}`);
  return match[1];
}
