/** A tenant's brand colour turned into the `brand-*` shades the app's Tailwind theme uses. */

const hexColorPattern = /^#[0-9a-f]{6}$/i;

interface Rgb {
  red: number;
  green: number;
  blue: number;
}

const white: Rgb = { red: 255, green: 255, blue: 255 };
const black: Rgb = { red: 0, green: 0, blue: 0 };

/** `#rrggbb`, the only form the API accepts for `branding.primaryColor`. */
export function isHexColor(value: string): boolean {
  return hexColorPattern.test(value);
}

/**
 * The CSS custom properties that re-colour the app for a brand colour: the colour itself is shade 600 (buttons,
 * links), lighter tints fill backgrounds and a darker shade serves hover. `null` for anything that is not
 * `#rrggbb` — the value ends up in a style, so nothing else gets through.
 */
export function brandPalette(primaryColor: string | null | undefined): Record<string, string> | null {
  if (!primaryColor || !isHexColor(primaryColor)) return null;
  const base = parseHexColor(primaryColor);
  return {
    '--color-brand-50': toHex(mix(base, white, 0.07)),
    '--color-brand-100': toHex(mix(base, white, 0.14)),
    '--color-brand-200': toHex(mix(base, white, 0.28)),
    '--color-brand-500': toHex(mix(base, white, 0.85)),
    '--color-brand-600': toHex(base),
    '--color-brand-700': toHex(mix(base, black, 0.82)),
  };
}

/** The WCAG contrast ratio of white text on this colour (1 to 21). */
export function contrastWithWhite(color: string): number {
  return 1.05 / (relativeLuminance(parseHexColor(color)) + 0.05);
}

/** Whether white button labels stay readable on this colour (WCAG AA for normal text, 4.5:1). */
export function isReadableWithWhiteText(color: string): boolean {
  return contrastWithWhite(color) >= 4.5;
}

function parseHexColor(color: string): Rgb {
  if (!isHexColor(color)) throw new Error(`not a #rrggbb colour: ${color}`);
  return {
    red: Number.parseInt(color.slice(1, 3), 16),
    green: Number.parseInt(color.slice(3, 5), 16),
    blue: Number.parseInt(color.slice(5, 7), 16),
  };
}

/** `weight` of `color`, the rest of `other`. */
function mix(color: Rgb, other: Rgb, weight: number): Rgb {
  const channel = (a: number, b: number) => Math.round(a * weight + b * (1 - weight));
  return {
    red: channel(color.red, other.red),
    green: channel(color.green, other.green),
    blue: channel(color.blue, other.blue),
  };
}

function toHex({ red, green, blue }: Rgb): string {
  return `#${[red, green, blue].map((channel) => channel.toString(16).padStart(2, '0')).join('')}`;
}

function relativeLuminance({ red, green, blue }: Rgb): number {
  const linear = (channel: number) => {
    const value = channel / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
}
