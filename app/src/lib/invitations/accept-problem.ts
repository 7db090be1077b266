import type { ApiError } from '../api';

export interface ExplainedProblem {
  title: string;
  detail: string;
  /** The invitation cannot be used any more: the forms are hidden. */
  final: boolean;
}

/** What to tell the invited person for each problem the accept call can answer with. */
export function explainAcceptProblem(problem: ApiError): ExplainedProblem | null {
  if (problem.is('invitation-invalid')) {
    return {
      title: 'This invitation link is not valid',
      detail: 'Check that you opened the whole link from the email, or ask for a new invitation.',
      final: true,
    };
  }
  if (problem.is('invitation-expired')) {
    return {
      title: 'This invitation has expired',
      detail: 'Ask the person who invited you to send it again.',
      final: true,
    };
  }
  if (problem.is('invitation-revoked')) {
    return {
      title: 'This invitation was withdrawn',
      detail:
        'It may have been sent again with a new link: check your email, or ask the person who invited you.',
      final: true,
    };
  }
  if (problem.is('invitation-used')) {
    return {
      title: 'This invitation has already been accepted',
      detail: 'Sign in to reach the workspace.',
      final: true,
    };
  }
  if (problem.is('invitation-email-mismatch')) {
    return {
      title: 'This invitation is for another email address',
      detail: 'Sign out, or answer with the password of the account the invitation was sent to.',
      final: false,
    };
  }
  if (problem.is('invalid-credentials')) {
    return {
      title: 'That password is not right',
      detail: 'Enter the password of your Wrapper account for the invited email address.',
      final: false,
    };
  }
  return null;
}
