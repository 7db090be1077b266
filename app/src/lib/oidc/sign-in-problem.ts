export interface ExplainedSignInProblem {
  title: string;
  detail: string;
}

/**
 * Each problem a provider sign-in can come back to `/auth/oidc` with (`#error=<code>`): the title as the
 * API's problem catalog words it, and what to do when the server sent no detail.
 */
const signInProblems: Record<string, ExplainedSignInProblem> = {
  'oidc-unknown-provider': {
    title: 'No such sign-in provider',
    detail: 'Choose one of the ways to sign in on the sign-in page.',
  },
  'oidc-flow-missing': {
    title: 'The sign-in was not started here or has expired',
    detail: 'Start again from the sign-in page, in this browser.',
  },
  'oidc-state-mismatch': {
    title: 'The sign-in answer does not match its request (state)',
    detail: 'Start again from the sign-in page.',
  },
  'oidc-nonce-mismatch': {
    title: 'The ID token does not match the sign-in request (nonce)',
    detail: 'Start again from the sign-in page.',
  },
  'oidc-denied': {
    title: 'The provider did not sign you in',
    detail: 'Try again, or sign in another way.',
  },
  'oidc-failed': {
    title: 'The provider did not confirm the sign-in',
    detail: 'Start again from the sign-in page.',
  },
  'oidc-email-unverified': {
    title: 'The provider has not verified your email address',
    detail: 'Confirm your email address with the provider first, or sign in with your password.',
  },
  'oidc-provider-unavailable': {
    title: 'The sign-in provider cannot be reached',
    detail: 'Try again shortly, or sign in with your password.',
  },
  forbidden: {
    title: 'Not allowed',
    detail: 'You have no active workspace. Ask an owner of your workspace to restore your access.',
  },
  'invitation-invalid': {
    title: 'No such invitation',
    detail: 'Check that you opened the whole link from the email, or ask for a new invitation.',
  },
  'invitation-expired': {
    title: 'The invitation has expired',
    detail: 'Ask the person who invited you to send it again.',
  },
  'invitation-revoked': {
    title: 'The invitation was withdrawn',
    detail:
      'It may have been sent again with a new link: check your email, or ask the person who invited you.',
  },
  'invitation-used': {
    title: 'The invitation has already been accepted',
    detail: 'Sign in to reach the workspace.',
  },
  'invitation-email-mismatch': {
    title: 'The invitation is for another email address',
    detail: 'Sign in with the provider account of the address the invitation was sent to.',
  },
  'already-member': {
    title: 'That person is already a member',
    detail: 'You are already a member of this workspace: sign in to reach it.',
  },
};

/** What to tell the person for the problem code (and the server's detail, if any) a sign-in ended with. */
export function explainSignInProblem(code: string, detail: string | null): ExplainedSignInProblem {
  const known = signInProblems[code] ?? {
    title: 'The sign-in did not work',
    detail: 'Start again from the sign-in page.',
  };
  return { title: known.title, detail: detail?.trim() || known.detail };
}
