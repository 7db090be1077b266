import { describe, expect, test } from 'bun:test';
import { brandPalette, contrastWithWhite, isHexColor, isReadableWithWhiteText } from './palette';

describe('brandPalette', () => {
  test('uses the brand colour as shade 600, with lighter tints and a darker hover shade', () => {
    const palette = brandPalette('#0F766E');

    expect(palette?.['--color-brand-600']).toBe('#0f766e');
    expect(palette?.['--color-brand-50']).toBe('#eef5f5');
    expect(palette?.['--color-brand-700']).toBe('#0c615a');
    expect(Object.keys(palette ?? {})).toEqual([
      '--color-brand-50',
      '--color-brand-100',
      '--color-brand-200',
      '--color-brand-500',
      '--color-brand-600',
      '--color-brand-700',
    ]);
  });

  test('keeps the default theme when there is no colour or it is not #rrggbb', () => {
    expect(brandPalette(null)).toBeNull();
    expect(brandPalette('')).toBeNull();
    expect(brandPalette('red')).toBeNull();
    expect(brandPalette('#fff')).toBeNull();
    expect(brandPalette('#0f766e; background: url(https://evil.example)')).toBeNull();
  });
});

describe('contrast with white text', () => {
  test('is 21:1 on black and 1:1 on white', () => {
    expect(contrastWithWhite('#000000')).toBeCloseTo(21, 5);
    expect(contrastWithWhite('#ffffff')).toBeCloseTo(1, 5);
  });

  test('flags light brand colours that would make button labels hard to read', () => {
    expect(isReadableWithWhiteText('#4f46e5')).toBe(true);
    expect(isReadableWithWhiteText('#facc15')).toBe(false);
  });

  test('isHexColor accepts only #rrggbb', () => {
    expect(isHexColor('#A1b2C3')).toBe(true);
    expect(isHexColor('A1B2C3')).toBe(false);
    expect(isHexColor('#a1b2c')).toBe(false);
  });
});
