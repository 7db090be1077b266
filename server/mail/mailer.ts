import nodemailer from 'nodemailer';
import type { Logger } from '../logger.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface SentMail extends MailMessage {
  id: string;
  from: string;
  sentAt: string;
}

export interface Mailer {
  readonly transport: 'smtp' | 'dev-mailbox';
  send(message: MailMessage): Promise<void>;
  /** The dev mailbox's newest messages (empty when mail goes through SMTP). */
  recent(limit?: number): SentMail[];
}

/** Mail through an SMTP relay (`smtp://` or `smtps://` URL with credentials). */
export function smtpMailer(options: { url: string; from: string }): Mailer {
  const transport = nodemailer.createTransport(options.url);
  return {
    transport: 'smtp',
    async send(message) {
      await transport.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    },
    recent: () => [],
  };
}

const DEV_MAILBOX_SIZE = 100;

/**
 * With no SMTP relay configured, mail is written to the log and kept in a small in-memory mailbox the
 * app can show (development and the embedded default only; production must configure SMTP_URL).
 */
export function devMailbox(options: { from: string; logger: Logger }): Mailer {
  const mailbox: SentMail[] = [];
  return {
    transport: 'dev-mailbox',
    async send(message) {
      const sent = {
        ...message,
        id: Bun.randomUUIDv7(),
        from: options.from,
        sentAt: new Date().toISOString(),
      };
      mailbox.unshift(sent);
      mailbox.length = Math.min(mailbox.length, DEV_MAILBOX_SIZE);
      options.logger.info(
        { mail: { to: sent.to, subject: sent.subject, text: sent.text } },
        'mail (dev mailbox)',
      );
    },
    recent: (limit = 20) => mailbox.slice(0, limit),
  };
}
