import { tv, type VariantProps } from 'tailwind-variants';

export const buttonVariants = tv({
  base: [
    'inline-flex shrink-0 items-center justify-center gap-2 rounded-lg font-medium whitespace-nowrap',
    'transition-colors focus-visible:outline-2 focus-visible:outline-offset-2',
    'disabled:pointer-events-none disabled:opacity-60',
  ],
  variants: {
    variant: {
      primary: 'bg-brand-600 text-white shadow-xs hover:bg-brand-700 focus-visible:outline-brand-600',
      secondary:
        'bg-white text-zinc-900 shadow-xs ring-1 ring-zinc-300 ring-inset hover:bg-zinc-50 focus-visible:outline-brand-600',
      ghost: 'text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 focus-visible:outline-brand-600',
      danger: 'bg-red-600 text-white shadow-xs hover:bg-red-700 focus-visible:outline-red-600',
      'danger-ghost': 'text-red-600 hover:bg-red-50 hover:text-red-700 focus-visible:outline-red-600',
    },
    size: {
      sm: 'h-8 px-2.5 text-sm',
      md: 'h-10 px-4 text-sm',
      lg: 'h-11 px-5 text-base',
      icon: 'size-8',
    },
  },
  defaultVariants: { variant: 'primary', size: 'md' },
});

export type ButtonVariant = VariantProps<typeof buttonVariants>['variant'];
export type ButtonSize = VariantProps<typeof buttonVariants>['size'];
