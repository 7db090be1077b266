import { twMerge } from 'tailwind-merge';

type ClassValue = string | false | null | undefined;

/** Joins class names, letting later Tailwind utilities override earlier ones (`px-4` then `px-2` → `px-2`). */
export function cn(...classes: ClassValue[]): string {
  return twMerge(classes.filter(Boolean).join(' '));
}
