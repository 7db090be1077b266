import { tv, type VariantProps } from 'tailwind-variants';

export const alertVariants = tv({
  base: 'flex gap-3 rounded-lg px-4 py-3 text-sm ring-1 ring-inset',
  variants: {
    tone: {
      error: 'bg-red-50 text-red-800 ring-red-200',
      success: 'bg-emerald-50 text-emerald-800 ring-emerald-200',
      warning: 'bg-amber-50 text-amber-900 ring-amber-200',
      info: 'bg-brand-50 text-brand-700 ring-brand-200',
    },
  },
  defaultVariants: { tone: 'error' },
});

export type AlertTone = VariantProps<typeof alertVariants>['tone'];
