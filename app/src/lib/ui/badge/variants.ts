import { tv, type VariantProps } from 'tailwind-variants';

export const badgeVariants = tv({
  base: 'inline-flex items-center gap-1 rounded-md px-1.5 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset',
  variants: {
    tone: {
      neutral: 'bg-zinc-50 text-zinc-700 ring-zinc-500/15',
      brand: 'bg-brand-50 text-brand-700 ring-brand-600/20',
      success: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20',
      warning: 'bg-amber-50 text-amber-800 ring-amber-600/25',
      danger: 'bg-red-50 text-red-700 ring-red-600/15',
    },
  },
  defaultVariants: { tone: 'neutral' },
});

export type BadgeTone = VariantProps<typeof badgeVariants>['tone'];
