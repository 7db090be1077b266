/** A short name for the device behind a session, from its User-Agent: "Chrome on macOS". */
export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const browser = browserName(userAgent);
  const system = operatingSystemName(userAgent);
  if (browser && system) return `${browser} on ${system}`;
  if (browser ?? system) return browser ?? system ?? '';
  // API clients and scripts ("curl/8.5.0", "Bun/1.1"): their own first word says enough.
  return userAgent.split(/[\s(]/)[0]?.slice(0, 40) || 'Unknown device';
}

function browserName(userAgent: string): string | null {
  // Order matters: Edge and Opera also claim to be Chrome, and Chrome also claims to be Safari.
  if (/Edg(e|A|iOS)?\//.test(userAgent)) return 'Edge';
  if (/OPR\/|Opera/.test(userAgent)) return 'Opera';
  if (/Firefox\/|FxiOS\//.test(userAgent)) return 'Firefox';
  if (/(Headless)?Chrome\/|CriOS\//.test(userAgent)) return 'Chrome';
  if (/Safari\//.test(userAgent)) return 'Safari';
  return null;
}

function operatingSystemName(userAgent: string): string | null {
  if (/iPhone/.test(userAgent)) return 'iPhone';
  if (/iPad/.test(userAgent)) return 'iPad';
  if (/Android/.test(userAgent)) return 'Android';
  if (/Windows/.test(userAgent)) return 'Windows';
  if (/Mac OS X|Macintosh/.test(userAgent)) return 'macOS';
  if (/CrOS/.test(userAgent)) return 'ChromeOS';
  if (/Linux/.test(userAgent)) return 'Linux';
  return null;
}
