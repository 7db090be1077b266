export { default as Button } from './button.svelte';
export { type ButtonSize, type ButtonVariant, buttonVariants } from './variants';
